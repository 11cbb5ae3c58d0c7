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

raise SystemExit(main())
