"""Live vital signs, Qt-free: ring buffers, sources (simulator, replay, HL7/MLLP, stream), analysis, alarms.

Sources write from their own threads; the display reads the buffers on its timer; the
:class:`~core.vitals.engine.MonitorEngine` evaluates alarms on its own thread so a busy UI never
hides an alarm condition. Every store belongs to a :class:`~core.vitals.bed.Bed`, bound to the patient
of the consult in context: nothing is stored, streamed or alarmed for nobody or for another patient.
"""
