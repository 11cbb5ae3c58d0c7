import gc
import sys

if sys.argv[1:2] == ["doctor"]:
    # doctor runs where only `pip install .` ran (CI, before a deploy): no Spark, so it must not
    # import the command line's stages (runtime/doctor.py).
    from .runtime.doctor import main

    raise SystemExit(main(sys.argv[2:]))

if sys.argv[1:2] == ["local-run"]:
    # The JVM boots (seconds) while the command line's imports load (seconds more).
    from .runtime.spark_session import start_local_spark

    start_local_spark()

from .cli import main

code = main()
# On its way out Python collects every object the imports made (MLflow, scikit-learn, Spark's
# client): about a second of a command's time, for memory the process gives back anyway. Frozen
# objects are left out of those collections; exit handlers still run.
gc.freeze()
raise SystemExit(code)
