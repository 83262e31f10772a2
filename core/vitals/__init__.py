"""Live vital signs, Qt-free: ring buffers, sources (simulator, replay, HL7/MLLP, stream), analysis, alarms.

Sources write from their own threads; the display reads the buffers on its timer; the
:class:`~core.vitals.engine.MonitorEngine` evaluates alarms on its own thread so a busy UI never
hides an alarm condition.
"""
