from meetsvc.cli import main

raise SystemExit(main())
