import sys

from carestar.cli import main

sys.exit(main())
