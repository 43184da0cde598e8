#!/usr/bin/env python3
"""FuseSoC generator launcher (see genesys.flows.fusesoc_generator); FuseSoC runs it with python3 from PATH."""

import sys

from genesys.flows.fusesoc_generator import main

sys.exit(main())
