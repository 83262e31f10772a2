"""Teaching mode (issue 11), Qt-free: session recordings (tracks.py), replay (replay.py), the case
library and de-identified teaching files (library.py), pause-and-predict scoring (scoring.py)."""
