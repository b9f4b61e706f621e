#!/bin/sh
# consolegate-helper: the bundled helper, run by the distribution's node (the package depends on it).
exec /usr/bin/node /usr/lib/consolegate/consolegate-helper.js "$@"
