"""Cold start to the first painted main window, against a bare QApplication + QMainWindow (the floor).

Both run as fresh processes on the same Qt platform (offscreen unless a display is set); each figure is
the median of 5 runs, measured from process launch until the child reports its first paint.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, parse, report

FLOOR = """
import sys, time
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow, QLabel
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setCentralWidget(QLabel("floor"))
window.menuBar().addMenu("File")
class Watch(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print("first-paint", flush=True)
            app.quit()
        return False
watch = Watch()
window.menuBar().installEventFilter(watch)
window.resize(1600, 1000)
window.show()
app.exec()
"""


def time_to_paint(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("first-paint"):
            elapsed = time.perf_counter() - start
            break
    else:
        raise RuntimeError(f"{command} exited without painting")
    proc.wait(timeout=30)
    return elapsed


def main() -> None:
    args = parse(__doc__ or "", None)
    runs = 3 if args.quick else 5
    env = dict(os.environ)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    with tempfile.TemporaryDirectory() as home:
        env["TELECONSULT_HOME"] = home
        app_cmd = [sys.executable, "-m", "app", "--demo", "--exit-after-paint"]
        floor_cmd = [sys.executable, "-c", FLOOR]
        # One warm-up each so the OS file cache is equally warm for both.
        time_to_paint(app_cmd, env)
        time_to_paint(floor_cmd, env)
        app_times, floor_times = [], []
        for _ in range(runs):
            app_times.append(time_to_paint(app_cmd, env))
            floor_times.append(time_to_paint(floor_cmd, env))
    startup, floor = median(app_times), median(floor_times)
    print(f"platform: {env.get('QT_QPA_PLATFORM', 'xcb')}, runs: {runs}")
    print(f"workstation first paint: {[round(t, 3) for t in app_times]} s")
    print(f"bare QMainWindow floor:  {[round(t, 3) for t in floor_times]} s")
    report({
        "peer": "bare QApplication + QMainWindow (first paint), fresh processes, same platform",
        "startup_s": startup,
        "floor_s": floor,
        "startup_ratio": startup / floor,  # the name the README and older runs use
        "startup_ratio_vs_bare_qt": startup / floor,
    })  # fmt: skip


if __name__ == "__main__":
    main()
