#!/bin/sh
# consolegate-host: the helper's host mode, run by the distribution's node (the package depends on it).
exec /usr/bin/node /usr/share/consolegate-host/consolegate-helper.js host "$@"
