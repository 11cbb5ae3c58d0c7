import sys

if sys.argv[1:2] == ["doctor"]:
    # doctor runs where only `pip install .` ran (CI, before a deploy): no Spark, so it must not
    # import the command line's stages (runtime/doctor.py).
    from .runtime.doctor import main

    raise SystemExit(main(sys.argv[2:]))

from .cli import main

raise SystemExit(main())
