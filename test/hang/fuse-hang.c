/*
 * A FUSE file system that never answers: it mounts on the given directory and then reads no
 * request at all, so every lookup under the mount point blocks (killably) until this process
 * exits, which unmounts it. What a hung NFS or FUSE volume is to a process that walks into it.
 * The kernel side is the fuse(4) device protocol: the mount options come from
 * Documentation/filesystems/fuse.rst (fd, rootmode, user_id, group_id).
 *
 *   fuse-hang DIR     (root; prints "ready" on stdout once mounted; SIGTERM to end)
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

static const char *dir;

static void done(int sig) {
  (void)sig;
  umount2(dir, MNT_DETACH);
  _exit(0);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: fuse-hang DIR\n");
    return 2;
  }
  dir = argv[1];
  int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    perror("open /dev/fuse");
    return 1;
  }
  char opts[128];
  snprintf(opts, sizeof opts, "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
  if (mount("fuse-hang", dir, "fuse", MS_NOSUID | MS_NODEV, opts) != 0) {
    perror("mount");
    return 1;
  }
  signal(SIGTERM, done);
  signal(SIGINT, done);
  printf("ready\n");
  fflush(stdout);
  for (;;) pause();
}
