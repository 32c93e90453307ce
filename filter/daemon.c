/*
 * NAME
 *	daemon - run homed-milter as a service
 * SUMMARY
 *	daemon_run()
 * DESCRIPTION
 *	Start-up, in this order: register with libmilter, open the socket
 *	(a stale unix socket is removed; the new one is made with
 *	socket_mode by the umask at bind and, with user, given that user's
 *	ownership without following a link), detach unless in the
 *	foreground, write the pid file, drop privileges to user, tell
 *	systemd it is ready (sd_notify; a no-op elsewhere), then serve.
 *	Start-up errors go to stderr as well as to the log, with the
 *	system's reason. The process is never dumpable: a core file would
 *	hold the bind password.
 *
 *	libmilter runs in a thread of its own. The main thread waits for
 *	signals with sigwait(): HUP and USR1 load the configuration file
 *	again, in a thread of their own, and put it in force for new
 *	connections (a bad file is logged with FILE:LINE and the old
 *	configuration kept); TERM and INT stop libmilter and remove the pid
 *	file. libmilter has a signal thread of its own that stops on HUP and
 *	TERM; on Linux a signal goes to the main thread when it waits for
 *	it, which it does at nearly all times. Should libmilter catch one
 *	anyway (a burst of HUPs), it stops, the milter thread says so, and
 *	the daemon exits non-zero so that the service manager restarts it.
 *	USR1 reloads without that race: libmilter does not watch it. systemd
 *	hears RELOADING=1 and READY=1 around a reload, STOPPING=1 at a stop.
 *
 *	Detaching uses a pipe: the starting process exits only when the
 *	daemon knows whether it started, with its status.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon.h"
#include "directory.h"
#include "log.h"
#include "milter.h"
#include "stats.h"

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

/*
 * Why a unix socket cannot be made at PATH, as the system says it: the
 * directory it would be in is missing or not one. NULL when it looks fine.
 */
static const char *daemon_socket_dir_problem(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    struct stat st;
    char *dir;
    int rc;

    if (slash == NULL || slash == path)
        return NULL;
    if ((dir = strndup(path, (size_t)(slash - path))) == NULL)
        return NULL;
    rc = stat(dir, &st);
    if (rc != 0 || !S_ISDIR(st.st_mode))
        snprintf(buf, size, "%s: %s", dir,
                 rc != 0 ? strerrordesc_np(errno) : "not a directory");
    free(dir);
    return rc != 0 || !S_ISDIR(st.st_mode) ? buf : NULL;
}

static int daemon_open_socket(const struct cfg *cfg, const struct passwd *pw)
{
    const char *path = daemon_socket_path(cfg->socket), *why;
    mode_t mode = (mode_t)strtol(cfg->socket_mode, NULL, 8), old;
    struct stat st;
    char buf[512];
    int rc;

    /* Only a stale socket is removed: never steal a live instance's. */
    if (path != NULL && daemon_socket_alive(path)) {
        log_error("%s: another milter is listening there", path);
        return -1;
    }

    /*
     * The socket is born with its mode (the umask at bind): no chmod,
     * which would follow a link swapped in after bind. Until the lchown
     * below only root's group could connect.
     */
    old = umask(~mode & 0777);
    errno = 0;
    rc = smfi_setconn(cfg->socket) == MI_SUCCESS && smfi_opensocket(true) == MI_SUCCESS;
    umask(old);
    if (!rc) {
        why = path != NULL ? daemon_socket_dir_problem(path, buf, sizeof(buf)) : NULL;
        if (why == NULL && errno != 0)
            why = strerrordesc_np(errno);
        log_error("cannot listen on %s: %s", cfg->socket,
                  why != NULL ? why : "libmilter refused it (see its line above)");
        return -1;
    }
    if (path == NULL)
        return 0;
    if ((pw != NULL && lchown(path, pw->pw_uid, pw->pw_gid) != 0) ||
        lstat(path, &st) != 0) {
        log_error("%s: cannot set its owner: %m", path);
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        log_error("%s: replaced by something that is not our socket", path);
        return -1;
    }
    return 0;
}

static int daemon_write_pid(const char *path)
{
    int fd;

    if (path == NULL)
        return 0;
    /* O_NOFOLLOW: a symlink planted there must not redirect root's write. */
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || dprintf(fd, "%ld\n", (long)getpid()) < 0) {
        log_error("%s: cannot write the pid file: %m", path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return close(fd);
}

static int daemon_drop(const struct cfg *cfg, const struct passwd *pw)
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
    if (cfg->ldap.bind_password_file != NULL &&
        access(cfg->ldap.bind_password_file, R_OK) != 0)
        log_warning("%s is not readable by %s: a reload will be refused",
                    cfg->ldap.bind_password_file, pw->pw_name);
    return 0;
}

/*
 * Detach, the parent waiting on a pipe for the child's start-up status:
 * errors after the fork (pid file, privilege drop) still reach the caller
 * as the exit code. Returns the pipe's write end in the child.
 */
static int daemon_detach(int *ready_r)
{
    unsigned char status = EX_OSERR;
    int p[2], devnull;
    pid_t pid;

    if (pipe(p) != 0 || (pid = fork()) < 0) {
        log_error("cannot detach: %m");
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        while (read(p[0], &status, 1) < 0 && errno == EINTR)
            ;
        _exit(status);
    }
    close(p[0]);
    setsid();
    if (chdir("/") != 0 || (devnull = open("/dev/null", O_RDWR)) < 0) {
        log_error("cannot detach: %m");
        return -1;
    }
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    if (devnull > 2)
        close(devnull);
    *ready_r = p[1];
    return 0;
}

static void daemon_ready(int fd, int rc)
{
    unsigned char status = (unsigned char)rc;

    if (fd < 0)
        return;
    if (write(fd, &status, 1) != 1)
        log_warning("cannot tell the starting process how the start went: %m");
    close(fd);
}

/* What the milter thread sends main when libmilter stopped by itself. */
#define DAEMON_SIG_STOPPED SIGRTMIN

static pthread_t daemon_main_thread;
static int daemon_stopping; /* atomic: we asked libmilter to stop */
static pthread_mutex_t daemon_reload_lock = PTHREAD_MUTEX_INITIALIZER;

static void *daemon_milter_thread(void *arg)
{
    (void)arg;
    if (smfi_main() != MI_SUCCESS)
        log_error("libmilter stopped with an error");
    /* Stopped by libmilter's own signal thread, not by us: tell main. */
    if (!__atomic_load_n(&daemon_stopping, __ATOMIC_SEQ_CST))
        pthread_kill(daemon_main_thread, DAEMON_SIG_STOPPED);
    return NULL;
}

static bool daemon_changed(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* Load the file again; keep the old configuration when it is bad. */
static void *daemon_reload(void *arg)
{
    const struct cfg *start = arg;
    struct cfg *cfg = NULL;
    char *error = NULL;

    pthread_mutex_lock(&daemon_reload_lock);
    sd_notify(0, "RELOADING=1");
    if (cfg_load(start->file, &cfg, &error) < 0) {
        log_error("reload refused, the old configuration stays: %s",
                  error ? error : "out of memory");
        free(error);
    } else if (milter_set_config(cfg) == 0) {
        log_set_level(cfg->log_level);
        log_info("reloaded %s", start->file);
        if (daemon_changed(start->socket, cfg->socket) ||
            daemon_changed(start->socket_mode, cfg->socket_mode) ||
            daemon_changed(start->user, cfg->user) ||
            daemon_changed(start->pid_file, cfg->pid_file))
            log_warning(
                "socket, socket_mode, user and pid_file change only at a restart");
    } else {
        log_error("reload failed: out of memory; the old configuration stays");
    }
    cfg_unref(cfg);
    sd_notify(0, "READY=1");
    pthread_mutex_unlock(&daemon_reload_lock);
    return NULL;
}

/* The start-up line: where it listens, and what it takes for local. */
static void daemon_started(const struct cfg *cfg)
{
    char *hosts = strdup(""), *more;
    size_t i;

    for (i = 0; hosts != NULL && i < cfg->local_hosts.n; i++) {
        if (asprintf(&more, "%s%s%s", hosts, i ? ", " : "", cfg->local_hosts.v[i]) < 0)
            more = NULL;
        free(hosts);
        hosts = more;
    }
    log_info("started, listening on %s; local_hosts: %s; decisions at %s", cfg->socket,
             hosts ? hosts : "(out of memory)",
             cfg->policy.decide_at == HM_DECIDE_MAIL ? "MAIL FROM (policy.decide_at)"
                                                     : "end-of-DATA (policy.decide_at)");
    free(hosts);
}

/* The counter line: to the log, and to systemd as the STATUS. */
static void daemon_stats(void)
{
    char *line = stats_line();

    if (line == NULL)
        return;
    log_info("%s", line);
    sd_notifyf(0, "STATUS=%s", line);
    free(line);
}

/*
 * The next signal in SET; every INTERVAL seconds (0: never) without one,
 * the counter line is logged instead. Returns the signal.
 */
static int daemon_next_signal(const sigset_t *set, int interval, time_t *next)
{
    struct timespec now, wait;
    int sig;

    for (;;) {
        if (interval <= 0) {
            if (sigwait(set, &sig) == 0)
                return sig;
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec >= *next) {
            daemon_stats();
            *next = now.tv_sec + interval;
        }
        wait.tv_sec = *next - now.tv_sec;
        wait.tv_nsec = 0;
        if ((sig = sigtimedwait(set, NULL, &wait)) > 0)
            return sig;
    }
}

/*
 * Wait for signals. HUP and USR1 reload, in a thread of their own so that
 * the main thread is back in sigwait() at once; USR2 logs the counter
 * line (as stats_interval does); TERM and INT stop. DAEMON_SIG_STOPPED
 * comes from the milter thread when libmilter stopped by itself (its own
 * signal thread caught a HUP or TERM first): exit, for a restart.
 */
static int daemon_wait(const struct cfg *start, const sigset_t *set)
{
    struct timespec now;
    pthread_t reloader;
    time_t next;
    int sig;

    clock_gettime(CLOCK_MONOTONIC, &now);
    next = now.tv_sec + start->stats_interval;
    for (;;) {
        sig = daemon_next_signal(set, start->stats_interval, &next);
        if (sig == SIGUSR2) {
            daemon_stats();
        } else if (sig == SIGHUP || sig == SIGUSR1) {
            if (pthread_create(&reloader, NULL, daemon_reload, (void *)start) == 0)
                pthread_detach(reloader);
            else
                daemon_reload((void *)start);
        } else if (sig == DAEMON_SIG_STOPPED) {
            log_error("libmilter stopped on a signal of its own; exiting so that the "
                      "service manager starts homed-milter again");
            return EX_SOFTWARE;
        } else {
            log_info("stopping on signal %d", sig);
            sd_notify(0, "STOPPING=1");
            __atomic_store_n(&daemon_stopping, 1, __ATOMIC_SEQ_CST);
            smfi_stop();
            return EX_OK;
        }
    }
}

static int daemon_prepare(struct cfg *cfg, bool foreground, int *ready_r)
{
    struct passwd *pw = NULL;
    const char *why = "out of memory";

    if (cfg->user != NULL && (pw = getpwnam(cfg->user)) == NULL) {
        log_error("user %s does not exist", cfg->user);
        return EX_NOUSER;
    }
    if (milter_register(&why) < 0 || milter_set_config(cfg) < 0) {
        log_error("cannot start: %s", why);
        return EX_SOFTWARE;
    }
    if (daemon_open_socket(cfg, pw) < 0)
        return EX_UNAVAILABLE;
    if (!foreground && daemon_detach(ready_r) < 0)
        return EX_OSERR;
    log_set_stderr(foreground); /* detached: stderr is /dev/null */
    if (daemon_write_pid(cfg->pid_file) < 0 || daemon_drop(cfg, pw) < 0)
        return EX_OSERR;
    return EX_OK;
}

int daemon_run(struct cfg *cfg, bool foreground)
{
    pthread_t thread;
    sigset_t set;
    int rc, ready = -1;

    /* Start-up errors show on stderr too, with or without -f. */
    log_open("homed-milter", true, true);
    /* No core file, nor ptrace by the user: memory holds the bind password. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        log_warning("cannot make the process undumpable: %m");
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, DAEMON_SIG_STOPPED);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    dir_library_init();
    rc = daemon_prepare(cfg, foreground, &ready);
    daemon_main_thread = pthread_self();
    if (rc == EX_OK && pthread_create(&thread, NULL, daemon_milter_thread, NULL) != 0)
        rc = EX_OSERR;
    daemon_ready(ready, rc);
    if (rc == EX_OK) {
        daemon_started(cfg);
        sd_notifyf(0, "READY=1\nSTATUS=listening on %s", cfg->socket);
        rc = daemon_wait(cfg, &set);
        if (rc != EX_OK)
            smfi_stop();
        pthread_join(thread, NULL);
        pthread_mutex_lock(&daemon_reload_lock); /* no reload in flight */
        if (cfg->pid_file != NULL && unlink(cfg->pid_file) != 0)
            log_debug("%s: not removed: %m", cfg->pid_file);
    }
    milter_shutdown();
    cfg_unref(cfg);
    return rc;
}
