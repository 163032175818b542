// SPDX-License-Identifier: GPL-2.0
/*
 * evlog: log the events of input devices found by exact name, a line each,
 * written as they come (line-buffered), so that the host can follow a
 * stream while it flows; for the multi-vCPU stress test (smp_tests.py).
 *
 *   evlog NAME...
 *       Prints "@@EVREADY@@", then for every event
 *           EV <index of NAME> <type> <code> <value>
 *       until SIGTERM or SIGINT, then "@@EVEND@@".
 */
#include "kmslib.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <linux/input.h>

#define MAXDEV 4

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The event node whose name is exactly want (open_input() matches substrings). */
static int open_exact(const char *want)
{
	char path[64], name[256];

	for (int i = 0; i < 64; i++) {
		int in;

		snprintf(path, sizeof(path), "/dev/input/event%d", i);
		in = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (in < 0)
			continue;
		memset(name, 0, sizeof(name));
		if (ioctl(in, EVIOCGNAME(sizeof(name) - 1), name) >= 0 && !strcmp(name, want))
			return in;
		close(in);
	}
	errno = ENOENT;
	die("no input device named %s", want);
}

int main(int argc, char **argv)
{
	struct pollfd p[MAXDEV];
	int n = argc - 1;
	struct sigaction sa = { .sa_handler = on_signal };

	if (n < 1 || n > MAXDEV) {
		fprintf(stderr, "usage: evlog NAME...\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: poll returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = open_exact(argv[i + 1]), .events = POLLIN };
	printf("@@EVREADY@@\n");
	while (!stop) {
		int r = poll(p, n, 1000);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll");
		for (int i = 0; i < n; i++) {
			struct input_event ev[64];
			ssize_t len;

			if (!(p[i].revents & POLLIN))
				continue;
			len = read(p[i].fd, ev, sizeof(ev));
			if (len < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (len < 0)
				die("read");
			for (size_t k = 0; k < len / sizeof(ev[0]); k++)
				printf("EV %d %u %u %d\n", i, ev[k].type, ev[k].code, ev[k].value);
		}
	}
	printf("@@EVEND@@\n");
	return 0;
}
