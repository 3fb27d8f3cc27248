/*
 * datapool: the threads the data path runs on. The JS thread handles every request, and hands reads, writes,
 * fsyncs, fallocates and truncates to these, so several can wait on the disk at once and none of them holds
 * up the metadata requests behind it (an fsync can take a second). Invalidations keep a thread of their
 * own (session.c): one can wait on page locks that a read queued here holds.
 */
#include "common.h"
#include <signal.h>
#include <stdlib.h>

static void *worker_main(void *arg) {
  struct session *s = arg;
  for (;;) {
    pthread_mutex_lock(&s->dlock);
    while (!s->dhead && !s->dstop) pthread_cond_wait(&s->dcond, &s->dlock);
    struct data_job *job = s->dhead;
    if (!job) { /* stopping, and the queue is drained */
      pthread_mutex_unlock(&s->dlock);
      return NULL;
    }
    s->dhead = job->next;
    if (!s->dhead) s->dtail = NULL;
    pthread_mutex_unlock(&s->dlock);
    job->run(job);
    handle_put(s, job->h);
    free(job->data);
    free(job);
  }
}

void datapool_start(struct session *s) {
  pthread_mutex_init(&s->dlock, NULL);
  pthread_cond_init(&s->dcond, NULL);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  for (int i = 0; i < DATA_THREADS; i++) pthread_create(&s->dthreads[i], NULL, worker_main, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void datapool_submit(struct session *s, struct data_job *job) {
  job->s = s;
  job->next = NULL;
  pthread_mutex_lock(&s->dlock);
  if (s->dtail) s->dtail->next = job;
  else s->dhead = job;
  s->dtail = job;
  pthread_cond_signal(&s->dcond);
  pthread_mutex_unlock(&s->dlock);
}

void datapool_stop(struct session *s) {
  pthread_mutex_lock(&s->dlock);
  s->dstop = true;
  pthread_cond_broadcast(&s->dcond);
  pthread_mutex_unlock(&s->dlock);
  for (int i = 0; i < DATA_THREADS; i++) pthread_join(s->dthreads[i], NULL);
}
