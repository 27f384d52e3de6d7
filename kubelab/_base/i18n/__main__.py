import sys

from kubelab._base.i18n.catalog import main

sys.exit(main())
