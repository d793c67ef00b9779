/* bcryptprimitives.dll for Wine versions that lack it (Wine 8 does).
 *
 * Rust's std on Windows asks bcryptprimitives.dll's ProcessPrng for random
 * bytes (HashMap keys) when a program starts; without the DLL every Rust
 * program dies before main. RtlGenRandom (advapi32's SystemFunction036)
 * gives the same thing, so ProcessPrng forwards to it.
 *
 * Built and copied into the Wine prefix by .ci/platforms; only used there. */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes a ULONG length: ask in pieces it can count. */
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
