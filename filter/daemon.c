/*
 * NAME
 *	daemon - run homed-milter as a service
 * SUMMARY
 *	daemon_run()
 * DESCRIPTION
 *	Start-up, in this order: register with libmilter, open the socket
 *	(a stale unix socket is removed; the new one gets socket_mode and,
 *	with user, that user's ownership), detach unless in the foreground,
 *	write the pid file, drop privileges to user, then serve.
 *
 *	libmilter runs in a thread of its own. The main thread waits for
 *	signals with sigwait(): HUP loads the configuration file again and
 *	puts it in force for new connections (a bad file is logged with
 *	FILE:LINE and the old configuration kept); TERM and INT stop
 *	libmilter and remove the pid file. On Linux a signal sent to the
 *	process goes to the main thread first when it waits for it, so
 *	libmilter's own signal thread, which would stop on HUP, never sees
 *	it.
 */
#include "autoconf.h"

#include <errno.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "daemon.h"
#include "directory.h"
#include "log.h"
#include "milter.h"

/* The unix socket's path in SOCKET, or NULL for inet sockets. */
static const char *daemon_socket_path(const char *socket)
{
    if (strncmp(socket, "unix:", 5) == 0)
        return socket + 5;
    if (strncmp(socket, "local:", 6) == 0)
        return socket + 6;
    return NULL;
}

/* Whether something answers on the unix socket PATH (a live instance). */
static bool daemon_socket_alive(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool alive;

    if (fd < 0 || strlen(path) >= sizeof(sun.sun_path)) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    alive = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
    close(fd);
    return alive;
}

static int daemon_open_socket(const struct cfg *cfg, const struct passwd *pw)
{
    const char *path = daemon_socket_path(cfg->socket);
    mode_t mode = (mode_t)strtol(cfg->socket_mode, NULL, 8);

    /* Only a stale socket is removed: never steal a live instance's. */
    if (path != NULL && daemon_socket_alive(path)) {
        log_error("%s: another milter is listening there", path);
        return -1;
    }

    if (smfi_setconn(cfg->socket) != MI_SUCCESS || smfi_opensocket(true) != MI_SUCCESS) {
        log_error("cannot listen on %s", cfg->socket);
        return -1;
    }
    if (path == NULL)
        return 0;
    if (chmod(path, mode) != 0 ||
        (pw != NULL && chown(path, pw->pw_uid, pw->pw_gid) != 0)) {
        log_error("%s: cannot set its mode or owner: %m", path);
        return -1;
    }
    return 0;
}

static int daemon_write_pid(const char *path)
{
    FILE *f;

    if (path == NULL)
        return 0;
    if ((f = fopen(path, "w")) == NULL) {
        log_error("%s: cannot write the pid file: %m", path);
        return -1;
    }
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f) == 0 ? 0 : -1;
}

static int daemon_drop(const struct passwd *pw)
{
    if (pw == NULL)
        return 0;
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        log_error("cannot drop privileges to %s: %m", pw->pw_name);
        return -1;
    }
    if (setuid(0) == 0 && pw->pw_uid != 0) {
        log_error("dropped privileges to %s, yet root could be regained", pw->pw_name);
        return -1;
    }
    return 0;
}

static void *daemon_milter_thread(void *arg)
{
    (void)arg;
    if (smfi_main() != MI_SUCCESS)
        log_error("libmilter stopped with an error");
    return NULL;
}

/* Load the file again; keep the old configuration when it is bad. */
static void daemon_reload(const char *file)
{
    struct cfg *cfg = NULL;
    char *error = NULL;

    if (cfg_load(file, &cfg, &error) < 0) {
        log_error("reload refused, the old configuration stays: %s",
                  error ? error : "out of memory");
        free(error);
        return;
    }
    if (milter_set_config(cfg) == 0) {
        log_set_level(cfg->log_level);
        log_info("reloaded %s", file);
    } else {
        log_error("reload failed: out of memory; the old configuration stays");
    }
    cfg_unref(cfg);
}

/* Wait for signals until TERM or INT. */
static void daemon_wait(const char *file, const sigset_t *set)
{
    int sig;

    for (;;) {
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            daemon_reload(file);
            continue;
        }
        log_info("stopping on signal %d", sig);
        smfi_stop();
        return;
    }
}

static int daemon_prepare(struct cfg *cfg, bool foreground, struct passwd **pw_r)
{
    const char *why;

    *pw_r = NULL;
    if (cfg->user != NULL && (*pw_r = getpwnam(cfg->user)) == NULL) {
        log_error("user %s does not exist", cfg->user);
        return EX_NOUSER;
    }
    if (milter_register(&why) < 0 || milter_set_config(cfg) < 0) {
        log_error("cannot start: %s", why);
        return EX_SOFTWARE;
    }
    if (daemon_open_socket(cfg, *pw_r) < 0)
        return EX_UNAVAILABLE;
    if (!foreground && daemon(0, 0) != 0) {
        log_error("cannot detach: %m");
        return EX_OSERR;
    }
    if (daemon_write_pid(cfg->pid_file) < 0 || daemon_drop(*pw_r) < 0)
        return EX_OSERR;
    return EX_OK;
}

int daemon_run(struct cfg *cfg, bool foreground)
{
    struct passwd *pw;
    pthread_t thread;
    sigset_t set;
    char *file = strdup(cfg->file),
         *pid_file = cfg->pid_file ? strdup(cfg->pid_file) : NULL;
    int rc;

    log_open("homed-milter", foreground, true);
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    dir_library_init();
    rc = daemon_prepare(cfg, foreground, &pw);
    if (rc == EX_OK && pthread_create(&thread, NULL, daemon_milter_thread, NULL) != 0)
        rc = EX_OSERR;
    if (rc == EX_OK) {
        log_info("started, listening on %s", cfg->socket);
        cfg_unref(cfg);
        cfg = NULL;
        daemon_wait(file, &set);
        pthread_join(thread, NULL);
        if (pid_file != NULL)
            unlink(pid_file);
    }
    milter_shutdown();
    cfg_unref(cfg);
    free(file);
    free(pid_file);
    return rc;
}
