/*
 * decoyd subsystem launcher: runs a Honeyd subsystem command contained.
 *
 *   decoyd-subsystem-launch UID GID COMMAND
 *
 * 1. a new, empty network namespace (only loopback, brought up): the program can reach nothing
 *    and nobody can reach it except through decoyd, which connects to its Unix sockets;
 * 2. its own session (decoyd stops the whole process group);
 * 3. the template's gid/uid (supplementary groups dropped); root is refused;
 * 4. killed with SIGKILL if decoyd dies (PR_SET_PDEATHSIG, set after the uid change that clears it);
 * 5. nice 10, as Honeyd runs its scripts;
 * 6. LD_PRELOAD = $DECOYD_SUBSYSTEM_SHIM, then /bin/sh -c COMMAND (as Honeyd: template_subsystem_start).
 * Exit status 126 with a message on stderr when a step fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "decoyd-subsystem-launch: %s: %s\n", what, strerror(errno));
  exit(126);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: decoyd-subsystem-launch UID GID COMMAND\n");
    return 126;
  }
  char *end;
  long uid = strtol(argv[1], &end, 10);
  if (*end != '\0' || uid <= 0) { errno = EINVAL; die("uid (must be a number > 0)"); }
  long gid = strtol(argv[2], &end, 10);
  if (*end != '\0' || gid <= 0) { errno = EINVAL; die("gid (must be a number > 0)"); }
  pid_t parent = getppid();

  if (unshare(CLONE_NEWNET) != 0) die("unshare(CLONE_NEWNET)");
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s >= 0) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
      ifr.ifr_flags |= IFF_UP;
      ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
  }
  if (setsid() < 0) die("setsid");
  gid_t g = (gid_t)gid;
  if (setgroups(1, &g) != 0) die("setgroups");
  if (setgid(g) != 0) die("setgid");
  if (setuid((uid_t)uid) != 0) die("setuid");
  if (setuid(0) == 0) { errno = EPERM; die("still able to become root"); }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die("prctl(PR_SET_PDEATHSIG)");
  if (getppid() != parent) return 126; /* decoyd is already gone */
  setpriority(PRIO_PROCESS, 0, 10);
  const char *shim = getenv("DECOYD_SUBSYSTEM_SHIM");
  if (shim == NULL || setenv("LD_PRELOAD", shim, 1) != 0) { errno = EINVAL; die("DECOYD_SUBSYSTEM_SHIM"); }
  unsetenv("DECOYD_SUBSYSTEM_SHIM");
  execl("/bin/sh", "sh", "-c", argv[3], (char *)NULL);
  die("exec /bin/sh");
  return 126;
}
