#pragma once

#include <pthread.h>

namespace feblam {

// Names the calling thread as `top -H`, perf and py-spy show it, so an operator can tell the
// intake workers and the outbox writer apart from gRPC's and Python's threads. Linux keeps at
// most 15 characters; a longer name is cut rather than refused.
inline void name_this_thread(const char* name) noexcept {
    char cut[16] = {};
    for (int i = 0; i < 15 && name[i] != '\0'; ++i) cut[i] = name[i];
    (void)pthread_setname_np(pthread_self(), cut);
}

}  // namespace feblam
