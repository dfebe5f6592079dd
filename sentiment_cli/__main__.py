from sentiment_cli.cli import main

raise SystemExit(main())
