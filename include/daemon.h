/*
 * daemon.h - run homed-milter as a service
 *
 * Opens the socket, writes the pid file, drops privileges, detaches, and
 * runs libmilter until TERM or INT; HUP reloads the configuration.
 * Called once, from main, before any other thread exists.
 */
#ifndef HM_DAEMON_H
#define HM_DAEMON_H

#include <stdbool.h>

#include "cfg.h"

/*
 * daemon_run - serve with CFG (one reference is taken over). FOREGROUND
 * keeps the process attached and logging to stderr. Returns a sysexits
 * code: EX_OK after TERM/INT, EX_OSERR/EX_UNAVAILABLE/EX_NOUSER when it
 * cannot start.
 */
int daemon_run(struct cfg *cfg, bool foreground);

#endif
