// SPDX-License-Identifier: GPL-2.0
/*
 * Differential fuzzer: a structure-aware generator makes frames and
 * sequences of frames on one tuple (ingress and the host's egress), runs
 * each through the loaded programs (BPF_PROG_TEST_RUN) and through the
 * reference model (model.c), and fails on the first difference in verdict,
 * reason or state, printing the packet as hex and as scapy, and the
 * sequence that led there.
 *
 *   difffuzz [-n PACKETS] [-s SEED] [-r SEQUENCE_SEED] [-k]
 *
 * -r replays the one sequence a report names (each sequence starts from no
 * state on its tuples, so its seed reproduces it); -k keeps going after a
 * difference and counts differences by kind, for triage. TAP output, one
 * test per generation (configuration) and one for the run. Differences the
 * allowlist (known[]) names end their sequence and are counted, not failed.
 */
#include "difffuzz.h"

uint64_t rng_state;

/* ---- main ---- */

static void usage(FILE *out)
{
	fprintf(out, "usage: difffuzz [-n PACKETS] [-s SEED] [-r SEQUENCE_SEED]\n"
		     "  -r runs the one sequence a difference report names, and prints it\n");
}

int main(int argc, char **argv)
{
	struct fgen gens[] = {
		{ .label = "enforce", .mode = "enforce", .quic = "false", .validate = "true",
		  .echo = "false" },
		{ .label = "echo+quic", .mode = "enforce", .quic = "true", .validate = "true",
		  .echo = "true" },
		{ .label = "monitor", .mode = "monitor", .quic = "false", .validate = "true",
		  .echo = "false" },
		{ .label = "no-validate", .mode = "enforce", .quic = "true", .validate = "false",
		  .echo = "false" },
	};
	uint64_t want = 100000, seed, sequences = 0, replay = 0;
	struct timespec t0, t1;
	int opt, failed = 0, test = 0, ret = 0;
	double secs;

	clock_gettime(CLOCK_REALTIME, &t0);
	seed = (uint64_t)t0.tv_sec * 1000003 ^ t0.tv_nsec;
	while ((opt = getopt(argc, argv, "n:s:r:kh")) != -1) {
		switch (opt) {
		case 'n':
			want = strtoull(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			replay = strtoull(optarg, NULL, 0);
			break;
		case 'k':
			keep_going = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	moat_libbpf_logging(false);
	if (libbpf_num_possible_cpus() < 1) {
		fprintf(stderr, "Error: couldn't count CPUs: %s\n",
			strerror(-libbpf_num_possible_cpus()));
		return 1;
	}
	printf("1..%zu\n", ARRAY_SIZE(gens) + 1);
	printf("# difffuzz -n %llu -s 0x%016llx\n", (unsigned long long)want,
	       (unsigned long long)seed);
	for (size_t i = 0; i < ARRAY_SIZE(gens); i++) {
		char err[MOAT_ERR_LEN] = "";

		if (gen_setup(&gens[i], err, sizeof(err))) {
			printf("not ok %d - %s: setup: %s\n", ++test, gens[i].label, err);
			return 1;
		}
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rng_state = seed;
	while (total_packets < want && !ret) {
		struct run r = {};
		uint64_t sseed = rnd64(), keep = rng_state;
		bool was_known;
		unsigned int c;

		/* each sequence from a seed of its own, printed with a difference */
		if (replay)
			sseed = replay;
		rng_state = sseed;
		r.seed = sseed;
		r.f = &gens[rnd(ARRAY_SIZE(gens))];
		seq_n = 0;
		c = rnd(100);
		ret = c < 35 ? one_random(&r) : c < 75 ? seq_inbound(&r) : seq_outbound(&r);
		rng_state = keep ^ sseed;
		r.f->sequences++;
		sequences++;
		was_known = ret > 0;
		if (ret > 0 || (ret && keep_going)) {
			/* the two sides' states parted: start the tuple afresh */
			if (r.has_conn)
				forget(r.f, &r.conn_key);
			if (r.has_flow)
				forget(r.f, &r.flow_key);
			ret = 0;
		}
		if (ret)
			r.f->packets |= 1ULL << 63;	/* marks the generation that failed */
		if (replay) {
			if (!ret) {
				r.diffs = 0;
				report_diff(&r, was_known ? "a known discrepancy (replayed)" :
							    "none (replayed)");
			}
			break;
		}
		/* empty the tables now and then: nothing ages out or is evicted */
		if (sequences % 4000 == 0)
			for (size_t i = 0; i < ARRAY_SIZE(gens); i++)
				state_reset(&gens[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	for (size_t i = 0; i < ARRAY_SIZE(gens); i++) {
		bool bad = gens[i].packets >> 63;

		printf("%s %d - %s: %llu packets in %llu sequences, model and program %s\n",
		       bad ? "not ok" : "ok", ++test, gens[i].label,
		       (unsigned long long)(gens[i].packets & ~(1ULL << 63)),
		       (unsigned long long)gens[i].sequences, bad ? "differ" : "agree");
		failed += bad;
	}
	printf("%s %d - difffuzz: %llu packets, %llu sequences, seed 0x%016llx, %.1f s\n",
	       failed ? "not ok" : "ok", ++test, (unsigned long long)total_packets,
	       (unsigned long long)sequences, (unsigned long long)seed, secs);
	printf("# verdicts covered:");
	for (unsigned int v = 0; v < MOAT_NR_VERDICTS; v++)
		for (unsigned int k = 0; k < MOAT_NR_REASONS; k++)
			if (seen[v][k])
				printf(" %s/%s %llu", moat_verdict_name(v), moat_reason_name(k),
				       (unsigned long long)seen[v][k]);
	printf("\n");
	for (size_t i = 0; known[i].name; i++)
		printf("# known discrepancy, allowlisted: %llu x %s\n",
		       (unsigned long long)known[i].n, known[i].name);
	for (unsigned int i = 0; i < n_kinds; i++)
		printf("# %8llu x %s\n", (unsigned long long)kinds[i].n, kinds[i].name);
	for (size_t i = 0; i < ARRAY_SIZE(gens); i++) {
		model_free(gens[i].ms);
		moat_gen_destroy(&gens[i].g);
	}
	return failed ? 1 : 0;
}

