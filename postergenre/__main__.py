import sys

from postergenre.cli import main

sys.exit(main())
