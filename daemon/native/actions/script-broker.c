/*
 * decoyd script broker: starts Honeyd script actions for a daemon that has given up root.
 *
 *   decoyd-script-broker SOCKET_PATH
 *
 * decoyd starts it (as root) before it drops privileges, with a pipe on stdin (requests) and one on
 * stdout (reports). The broker keeps root only to switch each script to its template's uid/gid; it
 * enters an empty network namespace of its own at once (only loopback, brought up), so no script
 * can reach any network, and scripts reach decoyd only through SOCKET_PATH (a pathname Unix socket
 * decoyd listens on: not tied to a network namespace).
 *
 * Request (NUL-separated fields):
 *   S ID UID GID MAXFDS AS_BYTES CWD ARGC ARGV... ENVC ENV...     start a script
 *   K ID SIGNAL                                                    signal its process group
 * Reports (lines): "P ID PID", "X ID code N" / "X ID signal N", "F ID message".
 *
 * Each script child, as Honeyd's cmd_fork/cmd_setpriv: connects twice to SOCKET_PATH (8-byte ID and
 * a kind byte first: 'o' = stdin+stdout, 'e' = stderr), its own session, RLIMIT_NOFILE = MAXFDS,
 * RLIMIT_AS = AS_BYTES, nice 10, the gid/uid (supplementary groups dropped; root refused; checked
 * that root cannot be regained), parent-death signal, then execvp (no shell). Exit 126 on failure.
 * When decoyd goes away (EOF on stdin) every script's group is killed and the broker exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FIELDS 200
#define MAX_REQUEST 65536
#define MAX_RUNNING 4096

struct run { uint64_t id; pid_t pid; };
static struct run runs[MAX_RUNNING];
static const char *sock_path;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n >= (int)sizeof line) n = sizeof line - 1;
  const char *p = line;
  while (n > 0) {
    ssize_t w = write(1, p, (size_t)n);
    if (w < 0) { if (errno == EINTR) continue; return; }
    p += w; n -= (int)w;
  }
}

static void child_die(const char *what) {
  fprintf(stderr, "decoyd-script-broker: %s: %s\n", what, strerror(errno));
  _exit(126);
}

static int connect_back(uint64_t id, char kind) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, sock_path, sizeof a.sun_path - 1);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) { close(s); return -1; }
  unsigned char hdr[9];
  for (int i = 0; i < 8; i++) hdr[i] = (unsigned char)(id >> (56 - 8 * i));
  hdr[8] = (unsigned char)kind;
  if (write(s, hdr, sizeof hdr) != (ssize_t)sizeof hdr) { close(s); return -1; }
  return s;
}

static void start(char **f, int nf) {
  /* S ID UID GID MAXFDS AS CWD ARGC ARGV... ENVC ENV... */
  if (nf < 9) return;
  uint64_t id = strtoull(f[1], NULL, 10);
  long uid = strtol(f[2], NULL, 10), gid = strtol(f[3], NULL, 10);
  long maxfds = strtol(f[4], NULL, 10);
  long long as = strtoll(f[5], NULL, 10);
  const char *cwd = f[6];
  int argc = atoi(f[7]);
  if (argc < 1 || 8 + argc >= nf) { report("F %llu bad request\n", (unsigned long long)id); return; }
  char **argv = &f[8];
  int envc = atoi(f[8 + argc]);
  if (envc < 0 || 9 + argc + envc > nf) { report("F %llu bad request\n", (unsigned long long)id); return; }
  char **envp = &f[9 + argc];
  if (uid <= 0 || gid <= 0) { report("F %llu uid and gid must be > 0\n", (unsigned long long)id); return; }
  int slot = -1;
  for (int i = 0; i < MAX_RUNNING; i++) if (runs[i].pid == 0) { slot = i; break; }
  if (slot < 0) { report("F %llu too many scripts\n", (unsigned long long)id); return; }
  pid_t broker = getpid();
  pid_t pid = fork();
  if (pid < 0) { report("F %llu fork: %s\n", (unsigned long long)id, strerror(errno)); return; }
  if (pid == 0) {
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int io = connect_back(id, 'o');
    if (io < 0) child_die("connect (stdio)");
    int er = connect_back(id, 'e');
    if (er < 0) child_die("connect (stderr)");
    if (dup2(io, 0) < 0 || dup2(io, 1) < 0 || dup2(er, 2) < 0) child_die("dup2");
    /* Close everything else (the broker's pipes included). */
    for (int fd = 3; fd < 1024; fd++) close(fd);
    if (setsid() < 0) child_die("setsid");
    if (cwd[0] != '\0' && chdir(cwd) != 0) child_die("chdir");
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)maxfds;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) child_die("setrlimit(RLIMIT_NOFILE)");
    if (as > 0) {
      rl.rlim_cur = rl.rlim_max = (rlim_t)as;
      if (setrlimit(RLIMIT_AS, &rl) != 0) child_die("setrlimit(RLIMIT_AS)");
    }
    rl.rlim_cur = rl.rlim_max = 0;
    setrlimit(RLIMIT_CORE, &rl);
    setpriority(PRIO_PROCESS, 0, 10);
    gid_t g = (gid_t)gid;
    if (setgroups(1, &g) != 0) child_die("setgroups");
    if (setgid(g) != 0) child_die("setgid");
    if (setuid((uid_t)uid) != 0) child_die("setuid");
    if (setuid(0) == 0) { errno = EPERM; child_die("still able to become root"); }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_die("prctl(PR_SET_PDEATHSIG)");
    if (getppid() != broker) _exit(126);
    envp[envc] = NULL;
    argv[argc] = NULL;
    environ = envp;
    execvp(argv[0], argv);
    fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  runs[slot].id = id;
  runs[slot].pid = pid;
  report("P %llu %d\n", (unsigned long long)id, (int)pid);
}

static void kill_run(char **f, int nf) {
  if (nf < 3) return;
  uint64_t id = strtoull(f[1], NULL, 10);
  int sig = atoi(f[2]);
  for (int i = 0; i < MAX_RUNNING; i++) {
    if (runs[i].pid != 0 && runs[i].id == id) {
      if (kill(-runs[i].pid, sig) != 0) kill(runs[i].pid, sig);
      return;
    }
  }
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (int i = 0; i < MAX_RUNNING; i++) {
      if (runs[i].pid != pid) continue;
      /* The rest of its group (a backgrounded child) goes with it. */
      kill(-pid, SIGKILL);
      if (WIFSIGNALED(status)) report("X %llu signal %d\n", (unsigned long long)runs[i].id, WTERMSIG(status));
      else report("X %llu code %d\n", (unsigned long long)runs[i].id, WEXITSTATUS(status));
      runs[i].pid = 0;
      break;
    }
  }
}

static void kill_all(void) {
  for (int i = 0; i < MAX_RUNNING; i++) if (runs[i].pid != 0) kill(-runs[i].pid, SIGKILL);
}

static volatile sig_atomic_t got_child;
static void on_child(int sig) { (void)sig; got_child = 1; }

static void enter_empty_netns(void) {
  if (unshare(CLONE_NEWNET) != 0) {
    fprintf(stderr, "decoyd-script-broker: unshare(CLONE_NEWNET): %s\n", strerror(errno));
    exit(126);
  }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP;
    ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: decoyd-script-broker SOCKET_PATH\n");
    return 126;
  }
  sock_path = argv[1];
  if (strlen(sock_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) { fprintf(stderr, "decoyd-script-broker: socket path too long\n"); return 126; }
  enter_empty_netns();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return 126;
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_child;
  sa.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  /* SIGCHLD is blocked except inside pselect, so none is lost between the check and the wait. */
  sigset_t block, orig;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &orig);

  static char buf[MAX_REQUEST];
  size_t have = 0;
  char *fields[MAX_FIELDS + 2];
  for (;;) {
    if (got_child) { got_child = 0; reap(); }
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(0, &rd);
    int n = pselect(1, &rd, NULL, NULL, NULL, &orig);
    if (n < 0) { if (errno == EINTR) continue; break; }
    if (!FD_ISSET(0, &rd)) continue;
    ssize_t r = read(0, buf + have, sizeof buf - have);
    if (r < 0) { if (errno == EINTR) continue; break; }
    if (r == 0) break;
    have += (size_t)r;
    /* A request ends with an empty field (two NULs in a row). */
    for (;;) {
      size_t end = 0;
      int found = 0;
      for (size_t i = 1; i < have; i++) if (buf[i] == '\0' && buf[i - 1] == '\0') { end = i + 1; found = 1; break; }
      if (!found) {
        if (have == sizeof buf) have = 0; /* an oversized request is dropped */
        break;
      }
      int nf = 0;
      size_t p = 0;
      while (p < end - 1 && nf < MAX_FIELDS) {
        fields[nf++] = &buf[p];
        p += strlen(&buf[p]) + 1;
      }
      fields[nf] = NULL;
      if (nf > 0 && fields[0][0] == 'S') start(fields, nf);
      else if (nf > 0 && fields[0][0] == 'K') kill_run(fields, nf);
      memmove(buf, buf + end, have - end);
      have -= end;
    }
  }
  kill_all();
  return 0;
}
