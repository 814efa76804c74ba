"""A CPU stand-in for a training job under ``corral trial``: it reports a throughput made from
the configuration it was given (visible GPUs x MPS thread percentage), so a test can tell that
each configuration's environment reached it, then runs until stopped.

``--silent`` prints nothing (the GPU-utilisation fallback); ``--garbled`` a malformed line.
"""

import os
import sys
import time

gpus = len([g for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g])
percent = int(os.environ.get("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "100"))
if "--garbled" in sys.argv:
    print("corral-throughput: fast", flush=True)
elif "--silent" not in sys.argv:
    print("warming up", flush=True)
    print("corral-throughput: 1.0 samples/s", flush=True)  # warm-up: superseded below
    print(f"corral-throughput: {100 * gpus * percent / 100:.1f} samples/s", flush=True)
if "--exit" in sys.argv:
    sys.exit(0)
time.sleep(float(os.environ.get("CORRAL_TRIAL_SECONDS", "60")) * 10)
