// SPDX-License-Identifier: GPL-2.0
/*
 * evread: read evdev events from input devices found by name, for the
 * guest tests.  Static, libc only.
 *
 *   evread [-n COUNT] [-t IDLE_MS] [-q] NAME...
 *       Opens /dev/input/eventN of each NAME (exact device name), prints
 *       "@@EVREADY@@", then one line per event,
 *           EV <index of NAME> <type> <code> <value>
 *       until COUNT events have arrived or none came for IDLE_MS (default
 *       5000).  Counted (and hashed) are all events but EV_LED and the
 *       SYN_REPORT of frames that had only EV_LED: the LED changes the VT
 *       makes come and go on their own.  With -q no event lines; the summary
 *       line at the end is always printed:
 *           EVSUM count <n> fnv <64-bit FNV-1a of all (index,type,code,value)>
 *                 dropped <SYN_DROPPED seen> ms <first to last event>
 *   evread -l CODE=VALUE NAME
 *       Writes EV_LED CODE VALUE + SYN_REPORT to the device (the input
 *       core passes it to the driver), then prints its LED state.
 *   evread -i NAME
 *       Prints the device's node and id ("EVINFO ..."), the ranges of
 *       ABS_X and ABS_Y if it has them ("EVABS ...") and its LED state.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXDEV 4

static int open_by_name(const char *want, char *node, size_t nodelen)
{
	DIR *d = opendir("/dev/input");
	struct dirent *e;
	int found = -1;

	if (!d) {
		perror("/dev/input");
		exit(2);
	}
	while ((e = readdir(d))) {
		char path[300], name[256] = "";
		int fd;

		if (strncmp(e->d_name, "event", 5))
			continue;
		snprintf(path, sizeof(path), "/dev/input/%s", e->d_name);
		fd = open(path, O_RDWR | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name) >= 0 && !strcmp(name, want)) {
			if (found >= 0) {
				fprintf(stderr, "two devices named %s\n", want);
				exit(2);
			}
			found = fd;
			snprintf(node, nodelen, "%s", path);
			continue;
		}
		close(fd);
	}
	closedir(d);
	if (found < 0) {
		fprintf(stderr, "no input device named %s\n", want);
		exit(2);
	}
	return found;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void print_leds(int fd)
{
	unsigned char led[(LED_CNT + 7) / 8] = { 0 };

	if (ioctl(fd, EVIOCGLED(sizeof(led)), led) < 0) {
		perror("EVIOCGLED");
		exit(2);
	}
	printf("EVLED num %d caps %d scroll %d\n", !!(led[0] & 1 << LED_NUML),
	       !!(led[0] & 1 << LED_CAPSL), !!(led[0] & 1 << LED_SCROLLL));
}

int main(int argc, char **argv)
{
	long count = -1, idle = 5000;
	int quiet = 0, info = 0, c, n, fds[MAXDEV];
	const char *led = NULL;
	char node[300];
	struct pollfd pfd[MAXDEV];
	uint64_t fnv = 0xcbf29ce484222325ULL;
	long got = 0, dropped = 0;
	long long first = 0, last = 0;
	int in_frame[MAXDEV] = { 0 };

	while ((c = getopt(argc, argv, "n:t:ql:i")) != -1) {
		switch (c) {
		case 'n': count = atol(optarg); break;
		case 't': idle = atol(optarg); break;
		case 'q': quiet = 1; break;
		case 'l': led = optarg; break;
		case 'i': info = 1; break;
		default:
			fprintf(stderr, "usage: see evread.c\n");
			return 2;
		}
	}
	n = argc - optind;
	if (n < 1 || n > MAXDEV)
		return 2;
	for (int i = 0; i < n; i++) {
		fds[i] = open_by_name(argv[optind + i], node, sizeof(node));
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	}

	if (info) {
		struct input_id id;

		ioctl(fds[0], EVIOCGID, &id);
		printf("EVINFO %s bus %04x vendor %04x product %04x version %04x\n",
		       node, id.bustype, id.vendor, id.product, id.version);
		for (int axis = ABS_X; axis <= ABS_Y; axis++) {
			struct input_absinfo ai;

			if (ioctl(fds[0], EVIOCGABS(axis), &ai) == 0)
				printf("EVABS %d min %d max %d fuzz %d flat %d res %d\n", axis,
				       ai.minimum, ai.maximum, ai.fuzz, ai.flat, ai.resolution);
		}
		print_leds(fds[0]);
		return 0;
	}
	if (led) {
		struct input_event ev[2] = { 0 };
		int code, value;

		if (sscanf(led, "%d=%d", &code, &value) != 2)
			return 2;
		ev[0].type = EV_LED;
		ev[0].code = code;
		ev[0].value = value;
		ev[1].type = EV_SYN;
		ev[1].code = SYN_REPORT;
		if (write(fds[0], ev, sizeof(ev)) != sizeof(ev)) {
			perror("write");
			return 1;
		}
		print_leds(fds[0]);
		return 0;
	}

	printf("@@EVREADY@@\n");
	fflush(stdout);
	while (count < 0 || got < count) {
		int r = poll(pfd, n, idle);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct input_event ev[256];
			ssize_t len;

			if (!(pfd[i].revents & POLLIN))
				continue;
			len = read(fds[i], ev, sizeof(ev));
			if (len < 0 && errno == EAGAIN)
				continue;
			if (len < 0) {
				perror("read");
				return 1;
			}
			for (size_t k = 0; k < len / sizeof(ev[0]); k++) {
				uint32_t rec[4] = { i, ev[k].type, ev[k].code, (uint32_t)ev[k].value };
				const unsigned char *p = (const void *)rec;

				if (!quiet)
					printf("EV %d %u %u %d\n", i, ev[k].type, ev[k].code, ev[k].value);
				if (ev[k].type == EV_SYN && ev[k].code == SYN_DROPPED)
					dropped++;
				/* LED changes (the VT's, our own) are not counted */
				if (ev[k].type == EV_LED)
					continue;
				if (ev[k].type == EV_SYN && ev[k].code == SYN_REPORT) {
					if (!in_frame[i])
						continue;
					in_frame[i] = 0;
				} else {
					in_frame[i] = 1;
				}
				for (size_t b = 0; b < sizeof(rec); b++) {
					fnv ^= p[b];
					fnv *= 0x100000001b3ULL;
				}
				last = now_ms();
				if (!got)
					first = last;
				got++;
			}
		}
	}
	printf("EVSUM count %ld fnv %016llx dropped %ld ms %lld\n", got,
	       (unsigned long long)fnv, dropped, last - first);
	return 0;
}
