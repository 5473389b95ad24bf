/* Out-of-tree use of the host C API (kcs/kcs.h): every smoke case of q8 is opened, its expected
 * outputs are scored as if an implementation had produced them (must pass), then one code is
 * changed (must fail, naming the element), and the runs go to a results file that the installed
 * `kcs report` reads. Errors come back as status values: an unknown case does not end the program.
 * Usage: score_with_c_api RESULTS.json PREFIX   (PREFIX: where kcs's data must come from) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kcs/kcs.h"

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != KCS_OK) {                                             \
      fprintf(stderr, "%s: %s\n", #call, kcs_last_error());            \
      return 1;                                                         \
    }                                                                   \
  } while (0)

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s RESULTS.json PREFIX\n", argv[0]);
    return 2;
  }
  char* dirs = NULL;
  CHECK(kcs_data_dirs_json(&dirs));
  printf("kcs %s, data: %s\n", kcs_version(), dirs);
  const int installed = strstr(dirs, argv[2]) != NULL;
  kcs_free_string(dirs);
  if (!installed) {
    fprintf(stderr, "kcs reads its data from outside the install prefix %s\n", argv[2]);
    return 1;
  }

  kcs_case* bad = NULL;
  if (kcs_case_open("q8.no_such_case", &bad) != KCS_E_NOT_FOUND || bad) {
    fprintf(stderr, "an unknown case must give KCS_E_NOT_FOUND\n");
    return 1;
  }
  printf("unknown case -> status %d: %s\n", KCS_E_NOT_FOUND, kcs_last_error());

  char* cases = NULL;
  CHECK(kcs_cases_json("q8", "smoke", NULL, &cases));
  kcs_results* res = NULL;
  CHECK(kcs_results_new("smoke", "score_with_c_api", &res));
  int passed = 0, caught = 0, n = 0;
  /* The ids from the JSON list: each "id":"..." entry. */
  for (const char* p = strstr(cases, "\"id\":\""); p; p = strstr(p + 1, "\"id\":\"")) {
    char id[256];
    const char* s = p + 6;
    const char* e = strchr(s, '"');
    if (!e || (size_t)(e - s) >= sizeof id) break;
    memcpy(id, s, (size_t)(e - s));
    id[e - s] = 0;
    kcs_case* c = NULL;
    CHECK(kcs_case_open(id, &c));
    const int m = kcs_case_tensor_count(c, KCS_EXPECTED);
    kcs_tensor t[8];
    for (int i = 0; i < m && i < 8; ++i) CHECK(kcs_case_tensor(c, KCS_EXPECTED, i, &t[i]));
    kcs_score* s1 = NULL;
    CHECK(kcs_case_score(c, t, m, "c_api_consumer", NULL, NULL, 0, &s1));
    passed += strcmp(kcs_score_verdict(s1), "passed") == 0;
    CHECK(kcs_results_add(res, s1));
    /* One code off by one. */
    for (int i = 0; i < m; ++i) {
      if (strcmp(t[i].name, "codes") != 0 || t[i].nbytes == 0) continue;
      signed char* copy = malloc(t[i].nbytes);
      memcpy(copy, t[i].data, t[i].nbytes);
      copy[0] = (signed char)(copy[0] == 127 ? 126 : copy[0] + 1);
      t[i].data = copy;
      kcs_score* s2 = NULL;
      CHECK(kcs_case_score(c, t, m, "c_api_consumer_broken", NULL, NULL, 0, &s2));
      if (strcmp(kcs_score_verdict(s2), "failed") == 0 && strstr(kcs_score_text(s2), "[0, 0]")) ++caught;
      if (n == 0) printf("%s", kcs_score_text(s2));
      kcs_score_free(s2);
      free(copy);
    }
    kcs_score_free(s1);
    kcs_case_free(c);
    ++n;
  }
  kcs_free_string(cases);
  CHECK(kcs_results_write(res, argv[1]));
  kcs_results_free(res);
  printf("C API: %d of %d q8 smoke cases passed; %d of %d broken copies caught naming [0, 0]\n", passed, n, caught, n);
  return n > 0 && passed == n && caught == n ? 0 : 1;
}
