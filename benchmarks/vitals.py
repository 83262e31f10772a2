"""Vitals display: 12 ECG leads + pleth + resp + ABP + CO2 live at 60 fps, offscreen.

Raster sweep (only the new samples are drawn, into a per-strip image) against a naive baseline in the
same run that calls setData with the whole visible buffer on every frame. The simulator writes from
its own thread. Figures: CPU of the process as a share of one core, frames dropped (a tick later than
1.5 frame periods after the previous), and sample-to-paint delay (from a sample's write to the end of
the first paint that shows it). Ours and the naive baseline alternate, several rounds (2 with --quick),
and the figures are the medians.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

from benchmarks._common import median, parse, report
from core.vitals.buffer import VitalsStore
from core.vitals.signals import ECG_LEADS, Wave
from core.vitals.simulator import Scenario, SimulatorSource
from widgets.vitals.strips import QtWaveformStrips, TraceSpec

SPECS = [TraceSpec(Wave.ECG, lead, lead) for lead in ECG_LEADS] + [
    TraceSpec(Wave.PLETH, "Pleth", "Pleth"),
    TraceSpec(Wave.RESP, "Resp", "Resp"),
    TraceSpec(Wave.ABP, "ABP", "ABP"),
    TraceSpec(Wave.CO2, "CO2", "CO2"),
]


class TimedStrips(QtWaveformStrips):
    """Records when each paint ends and how old the newest refreshed sample was then."""

    pending: float | None = None
    delays: list[float]

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.pending is not None:
            # the simulator writes in real time, so a sample arrives at about its own timestamp
            self.delays.append(time.time() - self.pending)
            self.pending = None


def run(app: QApplication, naive: bool, seconds: float) -> dict[str, float]:
    store = VitalsStore(seconds=60)
    source = SimulatorSource(store, Scenario.NORMAL, period=0.01)
    source.step()
    source.start()
    strips = TimedStrips(store, SPECS, naive=naive)
    strips.delays = []
    strips.resize(1600, 1000)
    strips.show()
    app.processEvents()
    strips.refresh()
    strips.viewport().repaint()
    ring = store.rings[Wave.ECG]
    ticks: list[float] = []
    period = 1 / 60

    def frame() -> None:
        ticks.append(time.perf_counter())
        if strips.refresh() and strips.pending is None:
            strips.pending = ring.newest_time()

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(frame)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    timer.start(int(period * 1000))
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    timer.stop()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    source.close()
    strips.close()
    delays = strips.delays
    gaps = np.diff(ticks)
    expected = int(wall / period)
    dropped = int(np.sum(gaps > 1.5 * period)) + max(0, expected - len(ticks) - 1)
    return {
        "cpu_share": cpu / wall,
        "dropped": dropped,
        "frames": len(ticks),
        "delay_ms": 1000 * median(delays) if delays else float("nan"),
        "delay_p95_ms": 1000 * float(np.percentile(delays, 95)) if delays else float("nan"),
    }


def main() -> None:
    args = parse(__doc__ or "")
    seconds = 4.0 if args.quick else 15.0
    rounds = 2 if args.quick else 3
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    runs: dict[str, list[dict[str, float]]] = {"raster sweep": [], "naive setData": []}
    for _ in range(rounds):  # alternate, so drift on a shared machine hits both alike
        runs["raster sweep"].append(run(app, naive=False, seconds=seconds))
        runs["naive setData"].append(run(app, naive=True, seconds=seconds))
    medians = {name: {key: median([r[key] for r in rs]) for key in rs[0]} for name, rs in runs.items()}
    for name, r in medians.items():
        print(
            f"{name:16s} cpu {r['cpu_share']:.2f} core, frames {r['frames']:.0f}, "
            f"dropped {r['dropped']:.0f}, "
            f"sample-to-paint median {r['delay_ms']:.1f} ms (p95 {r['delay_p95_ms']:.1f}) "
            f"(medians of {rounds} runs of {seconds:g} s)"
        )
    fast, naive = medians["raster sweep"], medians["naive setData"]
    report(
        {
            "peer": "naive pyqtgraph setData of the whole visible buffer every frame, same strips and data",
            "cpu_ratio_vs_naive": fast["cpu_share"] / naive["cpu_share"],
            "cpu_share": fast["cpu_share"],
            "naive_cpu_share": naive["cpu_share"],
            "dropped_frames": int(fast["dropped"]),
            "naive_dropped_frames": int(naive["dropped"]),
            "sample_to_paint_ms": fast["delay_ms"],
            "naive_sample_to_paint_ms": naive["delay_ms"],
            "sample_to_paint_ratio_vs_naive": fast["delay_ms"] / naive["delay_ms"],
            "rounds": rounds,
        }
    )


if __name__ == "__main__":
    main()
