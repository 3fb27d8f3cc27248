/*
 * Sequential reads: the kernel reads a FUSE file ahead in windows of the mount's readahead, which starts at
 * 128 KiB (its bdi's default). So a cold `dd bs=1M` of a base file arrived here as 128 KiB READs, eight a
 * MiB, each a round trip. The window is raised to the largest READ whose answer libfuse still splices from
 * the file: it sizes its pipe at the data plus four pages, and a pipe may not grow past pipe-max-size (1 MiB
 * here, so 1008 KiB); a larger answer is copied through a buffer instead. Measured on a cold 512 MiB file:
 * 1.1-1.5 GB/s against 0.7-1.0 GB/s, and 23-25 ticks of daemon CPU against 55 (40 at 1 MiB, copied).
 *
 * The kernel reads ahead no further than both its bdi's window and the INIT reply's max_readahead (op_init
 * raises that one). The bdi's read_ahead_kb is raised here, after mounting and before INIT is answered, so
 * no read ever sees the old window. Only root may write it; other users keep the kernel's window. The bdi
 * lives as long as the mount.
 */
#define _GNU_SOURCE
#include "common.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* mountinfo writes space, tab, newline and backslash in a path as octal escapes (\040). */
static bool same_mount_path(const char *escaped, const char *path) {
  while (*escaped && *path) {
    char c = *escaped++;
    if (c == '\\' && escaped[0] >= '0' && escaped[0] <= '7' && escaped[1] && escaped[2]) {
      c = (char)((escaped[0] - '0') * 64 + (escaped[1] - '0') * 8 + (escaped[2] - '0'));
      escaped += 3;
    }
    if (c != *path++) return false;
  }
  return !*escaped && !*path;
}

/* The device ("major:minor") of the newest FUSE mount on `mountpoint`, read from the mount table: the mount
 * itself may not be touched from here (its requests wait for INIT, which this thread answers). */
static bool mount_device(const char *mountpoint, char *device, size_t size) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return false;
  char *line = NULL;
  size_t cap = 0;
  bool found = false;
  while (getline(&line, &cap, f) > 0) {
    char dev[32], mnt[4096], type[64];
    /* id parent major:minor root mountpoint options [optional fields] - fstype source superoptions */
    if (sscanf(line, "%*s %*s %31s %*s %4095s", dev, mnt) != 2 || !same_mount_path(mnt, mountpoint)) continue;
    const char *dash = strstr(line, " - ");
    if (!dash || sscanf(dash + 3, "%63s", type) != 1 || strncmp(type, "fuse", 4) != 0) continue;
    snprintf(device, size, "%s", dev);
    found = true; /* later lines are newer mounts: keep looking */
  }
  free(line);
  fclose(f);
  return found;
}

/* In KiB: pipe-max-size less libfuse's four pages, at most MAX_IO. */
static unsigned splice_window_kib(void) {
  long pipe_max = 1 << 20, page = sysconf(_SC_PAGESIZE);
  FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
  if (f) {
    if (fscanf(f, "%ld", &pipe_max) != 1) pipe_max = 1 << 20;
    fclose(f);
  }
  long window = pipe_max - 4 * page;
  if (window > (long)MAX_IO) window = MAX_IO;
  return window < 0 ? 0 : (unsigned)(window / page * page / 1024);
}

#define KERNEL_WINDOW_KIB 128

void readahead_raise(struct session *s, const char *mountpoint) {
  unsigned kib = splice_window_kib();
  if (kib <= KERNEL_WINDOW_KIB) return; /* never lowered */
  char device[32], file[96];
  if (!mount_device(mountpoint, device, sizeof device)) {
    fuse_log(FUSE_LOG_WARNING, "minifo: %s is not in /proc/self/mountinfo; readahead stays at the kernel's\n",
             mountpoint);
    return;
  }
  snprintf(file, sizeof file, "/sys/class/bdi/%s/read_ahead_kb", device);
  FILE *f = fopen(file, "we");
  bool ok = f && fprintf(f, "%u\n", kib) > 0;
  if (f && fclose(f) != 0) ok = false;
  if (ok) s->readahead_kib = kib;
  else if (errno != EACCES && errno != EROFS) /* EACCES: not root, the expected case */
    fuse_log(FUSE_LOG_WARNING, "minifo: cannot write %s (%s); readahead stays at the kernel's\n", file,
             strerror(errno));
}
