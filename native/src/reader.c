/*
 * The reader thread: it sleeps in read(2) on the FUSE device, hands each request to the JS thread, and
 * writes the answer the JS thread gave while handling it.
 *
 * Why a thread, when the JS thread could read the device itself: where the answer is written decides
 * what waking the caller costs. The kernel wakes a thread sleeping in read(2) on the caller's vCPU (the
 * caller is about to sleep there), so the answer wakes the caller where it is. From another vCPU the
 * caller's vCPU has to be woken from its halt, through the host: 20-45 us a request here. Measured with
 * `tar xf`: all answers now written on the caller's vCPU, none when the JS thread wrote them.
 *
 * The reader and the JS thread are kept on different vCPUs: the caller follows the reader (it is woken where
 * the reader writes), and the JS thread spins where it is, so that vCPU never halts. Left to the scheduler,
 * the JS thread and the reader often shared a vCPU and the caller ran on the other one: in 8 traced runs
 * of `tar cf` over 20,000 files, 16-97% of the answers reached the caller on its vCPU, and a run took
 * 0.43-0.90 s. With the reader kept off the JS thread's vCPU: 100% in 7 runs (84% in one), 0.35-0.48 s.
 *
 * The caller may still settle on the JS thread's vCPU, where the reader may not follow it; then the JS thread
 * moves (look_at_caller, below).
 *
 * One reader keeps the kernel's order of requests, which the open bookkeeping (passthrough.c) relies on.
 * An answer given later (after an await) is written by whoever gives it, as before.
 */
#define _GNU_SOURCE
#include "common.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* How long the reader waits for the JS thread's answer awake (yielding, should the JS thread be on the
 * same vCPU) before it sleeps on the condition variable. */
#define ANSWER_SPIN_NS 200000

enum { R_READING, R_POSTED, R_DONE, R_ENDED };

struct reader_cpus { cpu_set_t allowed; }; /* the reader's affinity when it started (cpusets, taskset) */

/* Between requests: the reader moves off the vCPU the JS thread took its last request on, when that changed. */
static void keep_apart(struct reader *r) {
  int cpu = atomic_load(&r->js_cpu);
  if (cpu < 0 || cpu == atomic_load(&r->avoided_cpu) || !atomic_load(&r->placing)) return;
  cpu_set_t set = r->cpus->allowed;
  CPU_CLR(cpu, &set);
  if (CPU_COUNT(&set) == 0) return; /* one vCPU: nowhere else to go */
  if (sched_setaffinity(0, sizeof set, &set) == 0) {
    atomic_store(&r->avoided_cpu, cpu);
    return;
  }
  fuse_log(FUSE_LOG_WARNING, "minifo: the reader thread cannot choose its vCPUs (%s); the scheduler places it\n",
           strerror(errno));
  atomic_store(&r->placing, false);
}

/*
 * The caller can settle on the JS thread's vCPU (seen with `rm -rf`: for a third of its requests, and none
 * of the answers then reached it on its own vCPU). The reader, kept off that vCPU, cannot follow it there,
 * so now and then it looks where the caller runs (/proc/PID/stat), and when that is the JS thread's vCPU
 * the JS thread moves off it. It is never left pinned: it narrows its affinity to leave, then restores it
 * at once, before any JS runs that could start a thread inheriting the narrow set.
 */
#define LOOK_EVERY 256

static int cpu_of_process(uint32_t pid) {
  char path[32], buf[1024];
  snprintf(path, sizeof path, "/proc/%u/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
  if (!p) return -1;
  for (int field = 2; field < 39 && p; field++) p = strchr(p + 1, ' '); /* to field 39, "processor" */
  return p ? atoi(p + 1) : -1;
}

static void look_at_caller(struct reader *r) {
  if (!atomic_load(&r->placing) || ++r->since_look < LOOK_EVERY) return;
  r->since_look = 0;
  int cpu = cpu_of_process(r->caller_pid);
  if (cpu >= 0 && cpu == atomic_load(&r->js_cpu)) atomic_store(&r->js_hop, true);
}

/* On the JS thread, between requests. */
static void hop_if_asked(struct reader *r, int cpu) {
  if (!atomic_exchange(&r->js_hop, false) || !atomic_load(&r->placing)) return;
  cpu_set_t elsewhere = r->cpus->allowed;
  CPU_CLR(cpu, &elsewhere);
  if (CPU_COUNT(&elsewhere) == 0 || sched_setaffinity(0, sizeof elsewhere, &elsewhere) != 0) return;
  if (sched_setaffinity(0, sizeof r->cpus->allowed, &r->cpus->allowed) != 0)
    fuse_log(FUSE_LOG_ERR, "minifo: the JS thread cannot widen its vCPUs again (%s)\n", strerror(errno));
  atomic_fetch_add(&r->hops, 1);
}

/* Set on the JS thread while it handles the posted request: its answer is kept for the reader. */
static __thread struct reader *handling;

static void wait_answer(struct reader *r) {
  uint64_t until = now_ns() + ANSWER_SPIN_NS;
  while (atomic_load(&r->state) != R_DONE) {
    if (now_ns() < until) {
      sched_yield();
      continue;
    }
    pthread_mutex_lock(&r->lock);
    r->sleeping = true;
    while (atomic_load(&r->state) != R_DONE) pthread_cond_wait(&r->cond, &r->lock);
    r->sleeping = false;
    pthread_mutex_unlock(&r->lock);
  }
}

static void write_answer(struct session *s, struct reader *r) {
  ssize_t n = write(fuse_session_fd(s->se), r->answer, r->answer_len);
  /* ENOENT: the request was interrupted meanwhile (libfuse takes it as fine too); ENODEV: the connection
   * is gone, which the next read reports as the end of the session. */
  if (n < 0 && errno != ENOENT && errno != ENODEV)
    fuse_log(FUSE_LOG_ERR, "minifo: writing an answer to the kernel: %s\n", strerror(errno));
}

static void *reader_main(void *arg) {
  struct session *s = arg;
  struct reader *r = &s->reader;
  for (;;) {
    int res = fuse_session_receive_buf(s->se, &r->buf);
    if (res == -EINTR) continue;
    bool ended = res <= 0 || fuse_session_exited(s->se);
    if (!ended) {
      r->unique = ((const struct k_in_header *)r->buf.mem)->unique;
      r->caller_pid = ((const struct k_in_header *)r->buf.mem)->pid;
    }
    r->answer_len = 0;
    atomic_store(&r->state, ended ? R_ENDED : R_POSTED);
    if (atomic_load(&s->js_idle)) uv_async_send(s->wake);
    if (ended) return NULL;
    wait_answer(r);
    if (r->answer_len) {
      write_answer(s, r);
      atomic_fetch_add(&r->answers, 1);
    }
    atomic_store(&r->state, R_READING);
    look_at_caller(r);
    keep_apart(r);
  }
}

void reader_start(struct session *s) {
  struct reader *r = &s->reader;
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->cond, NULL);
  atomic_store(&r->state, R_READING);
  atomic_store(&r->js_cpu, -1);
  atomic_store(&r->avoided_cpu, -1);
  r->cpus = malloc(sizeof *r->cpus);
  if (r->cpus && sched_getaffinity(0, sizeof r->cpus->allowed, &r->cpus->allowed) != 0) {
    fuse_log(FUSE_LOG_WARNING, "minifo: cannot read the daemon's vCPUs (%s); the scheduler places the reader\n",
             strerror(errno));
    free(r->cpus);
    r->cpus = NULL;
  }
  atomic_store(&r->placing, r->cpus != NULL);
  atomic_store(&r->js_hop, false);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pthread_create(&r->thread, NULL, reader_main, s);
  pthread_setname_np(r->thread, "minifo-reader"); /* for top -H and perf */
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void reader_join(struct session *s) {
  struct reader *r = &s->reader;
  pthread_join(r->thread, NULL);
  pthread_mutex_destroy(&r->lock);
  pthread_cond_destroy(&r->cond);
  free(r->buf.mem);
  r->buf.mem = NULL;
  free(r->answer);
  r->answer = NULL;
  free(r->cpus);
  r->cpus = NULL;
}

enum reader_turn reader_turn(struct session *s) {
  int state = atomic_load(&s->reader.state);
  return state == R_ENDED ? TURN_ENDED : state == R_POSTED ? TURN_REQUEST : TURN_NONE;
}

struct fuse_buf *reader_begin(struct session *s) {
  handling = &s->reader;
  hop_if_asked(&s->reader, sched_getcpu());
  atomic_store(&s->reader.js_cpu, sched_getcpu()); /* after a hop, where it landed */
  return &s->reader.buf;
}

void reader_done(struct session *s) {
  struct reader *r = &s->reader;
  handling = NULL;
  atomic_store(&r->state, R_DONE);
  pthread_mutex_lock(&r->lock);
  if (r->sleeping) pthread_cond_signal(&r->cond);
  pthread_mutex_unlock(&r->lock);
}

bool reader_keep_answer(struct session *s, const struct iovec *iov, int count) {
  struct reader *r = handling;
  if (!r || r != &s->reader || ((const struct k_out_header *)iov[0].iov_base)->unique != r->unique) return false;
  size_t len = 0;
  for (int i = 0; i < count; i++) len += iov[i].iov_len;
  if (len > r->answer_cap) {
    char *bigger = realloc(r->answer, len);
    if (!bigger) return false; /* then written here, on the JS thread */
    r->answer = bigger;
    r->answer_cap = len;
  }
  char *at = r->answer;
  for (int i = 0; i < count; i++) {
    memcpy(at, iov[i].iov_base, iov[i].iov_len);
    at += iov[i].iov_len;
  }
  r->answer_len = len;
  return true;
}
