/* rig.gbcs._wire: the per-frame byte work of the GBCS codec's hot paths, in C.
 *
 * The pure-Python code in rig/gbcs/frame.py is the reference; rig/gbcs/accel.py decides whether
 * this module is used. Every function here either computes exactly what its Python twin computes
 * or declines (returns None) so that the Python path runs and, for bad input, raises the
 * documented DecodeError with its offset and reason. Nothing here raises for malformed frames.
 *
 * Layouts (reference/gbcs.md):
 *   MAC Header (§1.2):     DD 00 00 00 00 00 00 <BER content length> 11 00000000 <APDU> <MAC 12>
 *   General-Signing (§1.2, §1.3): DF 09 <CRA> <counter 8> 08 <originator 8> 08 <recipient 8>
 *       <00 | 0C date-time 12> <BER other-info length> <message code 2> [supplementary]
 *       <BER content length> <payload> [00 | 40 <signature 64>]
 *   KDF input (§1.4):      00000001 || Z || AlgorithmID || originator || 09 CRA counter || recipient
 *   GMAC (§1.4):           IV = originator || 00000000, AAD = 11 0000000000 || APDU
 *
 * Every read is bounds-checked against the end of its region before it happens; lengths are
 * compared with the bytes left before anything is sliced, so memory is bounded by the input.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <structmember.h>

#define GENERAL_CIPHERING 0xDD
#define GENERAL_SIGNING 0xDF
#define TRANSACTION_ID_LENGTH 9
#define TITLE_LENGTH 8
#define DATE_TIME_LENGTH 12
#define MAC_LENGTH 12
#define SIGNATURE_LENGTH 64
#define SECURITY_CONTROL 0x11
#define SECURITY_HEADER_LENGTH 5 /* security control and a zero invocation counter */
#define AAD_PREFIX_LENGTH 6      /* 11 00 00 00 00 00 */
/* DF, transaction id, both titles: the KDF fields all lie in an APDU's first 29 bytes. */
#define APDU_HEAD_LENGTH 29
#define ORIGINATOR_AT 12
#define RECIPIENT_AT 21
#define TRANSACTION_ID_AT 1

/* Bound by bind(): the classes decode() instantiates, where their slots are, the Cra members
 * and the Eui64 constructor. Message and GeneralSigning are slotted dataclasses; decode() fills
 * a fresh instance's slots directly, as frame._decode_common fills a _BlankSigning. */
enum { M_SIGNING, M_MAC, MESSAGE_FIELDS };
static const char *const message_names[MESSAGE_FIELDS] = {"signing", "mac"};
enum {
    S_CRA, S_COUNTER, S_ORIGINATOR, S_RECIPIENT, S_MESSAGE_CODE, S_PAYLOAD, S_DATE_TIME,
    S_RP_ID, S_RP_COUNTER, S_ORIG_COUNTER, S_CERTIFICATE, S_SIGNATURE, S_HAS_SIGNATURE_FIELD,
    S_RAW, SIGNING_FIELDS
};
static const char *const signing_names[SIGNING_FIELDS] = {
    "cra", "counter", "originator", "recipient", "message_code", "payload", "date_time",
    "supplementary_remote_party_id", "supplementary_remote_party_counter",
    "supplementary_originator_counter", "supplementary_remote_party_ka_certificate",
    "signature", "has_signature_field", "_raw",
};
static PyTypeObject *message_type, *signing_type;
static Py_ssize_t message_slots[MESSAGE_FIELDS], signing_slots[SIGNING_FIELDS];
static PyObject *eui_of;
static PyObject *cras[4]; /* Cra members by value; [0] unused */
/* frame.py_decode and frame.py_encode_apdu: what decode() and encode_apdu() hand anything they
 * decline to, so that results and errors are the Python reference's. */
static PyObject *decode_fallback, *encode_fallback, *check_fallback;
/* The KDF's hash (hashlib.sha256) and the GMAC's AEAD class (pyca AESGCM), from crypto.py. */
static PyObject *kdf_hash, *gcm_class;
static PyObject *empty_bytes, *s_digest, *s_encrypt;
static PyObject *s_raw_attr, *s_date_time, *s_supplementary, *s_signature_field;

/* A direct-mapped cache of Eui64 objects by their 8 bytes: the decoder meets the same few
 * system titles in every frame. Entries are strong references, replaced on collision, so the
 * cache holds at most EUI_CACHE_SIZE objects. */
#define EUI_CACHE_SIZE 256
static struct {
    uint64_t key;
    PyObject *eui;
} eui_cache[EUI_CACHE_SIZE];

static uint64_t
load_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static PyObject *
eui(const unsigned char *p)
{
    uint64_t key = load_be(p, 8);
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    size_t slot = (size_t)(h >> 56) % EUI_CACHE_SIZE;
    if (eui_cache[slot].eui != NULL && eui_cache[slot].key == key) {
        Py_INCREF(eui_cache[slot].eui);
        return eui_cache[slot].eui;
    }
    PyObject *raw = PyBytes_FromStringAndSize((const char *)p, 8);
    if (raw == NULL)
        return NULL;
    PyObject *made = PyObject_CallOneArg(eui_of, raw);
    Py_DECREF(raw);
    if (made == NULL)
        return NULL;
    Py_XSETREF(eui_cache[slot].eui, Py_NewRef(made));
    eui_cache[slot].key = key;
    return made;
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *data;
    Py_ssize_t pos, end;
} Reader;

/* Each returns 0 on success, -1 when the input does not fit (the caller declines). */

static int
take(Reader *r, Py_ssize_t n, Py_ssize_t *at)
{
    if (n < 0 || n > r->end - r->pos)
        return -1;
    *at = r->pos;
    r->pos += n;
    return 0;
}

static int
byte(Reader *r, unsigned *value)
{
    if (r->pos >= r->end)
        return -1;
    *value = r->data[r->pos++];
    return 0;
}

static int
expect(Reader *r, unsigned value)
{
    unsigned got;
    return byte(r, &got) < 0 || got != value ? -1 : 0;
}

static int
uint_be(Reader *r, int n, uint64_t *value)
{
    Py_ssize_t at;
    if (take(r, n, &at) < 0)
        return -1;
    *value = load_be(r->data + at, n);
    return 0;
}

/* A minimal BER / A-XDR length of at most the bytes left (wire.Reader.length). */
static int
ber_length(Reader *r, Py_ssize_t *length)
{
    unsigned first;
    uint64_t n;
    if (byte(r, &first) < 0)
        return -1;
    if (first < 0x80) {
        n = first;
    }
    else {
        int size = first & 0x7F;
        if (size < 1 || size > 4 || uint_be(r, size, &n) < 0)
            return -1;
        if (n < 0x80 || n < (1ULL << (8 * (size - 1))))
            return -1;
    }
    if (n > (uint64_t)(r->end - r->pos))
        return -1;
    *length = (Py_ssize_t)n;
    return 0;
}

static int
title(Reader *r, Py_ssize_t *at)
{
    return expect(r, TITLE_LENGTH) < 0 ? -1 : take(r, TITLE_LENGTH, at);
}

/* Where the fields of a General-Signing APDU lie; -1 for an absent optional field. */
typedef struct {
    unsigned cra;
    uint64_t counter;
    Py_ssize_t start, end; /* the APDU: DF through the signature field */
    Py_ssize_t originator, recipient, date_time;
    unsigned message_code;
    int supplementary; /* how many supplementary fields: 0 to 4 */
    Py_ssize_t rp_id, rp_counter, orig_counter, certificate, certificate_length;
    Py_ssize_t payload, payload_length;
    int signature_field; /* 0 none, 1 null, 2 a signature */
    Py_ssize_t signature;
} Apdu;

/* The General-Signing APDU data[start:end] (frame._decode_signing). */
static int
parse_signing(const unsigned char *data, Py_ssize_t start, Py_ssize_t end, Apdu *a)
{
    Reader r = {data, start, end};
    unsigned dt_length, value;
    Py_ssize_t other;
    uint64_t code;

    a->start = start;
    a->end = end;
    if (expect(&r, GENERAL_SIGNING) < 0 || expect(&r, TRANSACTION_ID_LENGTH) < 0)
        return -1;
    if (byte(&r, &value) < 0 || value < 1 || value > 3)
        return -1;
    a->cra = value;
    if (uint_be(&r, 8, &a->counter) < 0 || title(&r, &a->originator) < 0 ||
        title(&r, &a->recipient) < 0 || byte(&r, &dt_length) < 0)
        return -1;
    a->date_time = -1;
    if (dt_length == DATE_TIME_LENGTH) {
        if (take(&r, DATE_TIME_LENGTH, &a->date_time) < 0)
            return -1;
    }
    else if (dt_length != 0) {
        return -1;
    }
    if (ber_length(&r, &other) < 0)
        return -1;
    if (other < 2 || (other < 26 && other != 2 && other != 10 && other != 18))
        return -1;
    if (uint_be(&r, 2, &code) < 0)
        return -1;
    a->message_code = (unsigned)code;
    a->supplementary = 0;
    a->rp_id = a->rp_counter = a->orig_counter = a->certificate = -1;
    a->certificate_length = 0;
    if (other >= 10) {
        if (take(&r, 8, &a->rp_id) < 0)
            return -1;
        a->supplementary = 1;
    }
    if (other >= 18) {
        if (take(&r, 8, &a->rp_counter) < 0)
            return -1;
        a->supplementary = 2;
    }
    if (other >= 26) {
        if (take(&r, 8, &a->orig_counter) < 0)
            return -1;
        a->supplementary = 3;
    }
    if (other > 26) {
        a->certificate_length = other - 26;
        if (take(&r, a->certificate_length, &a->certificate) < 0)
            return -1;
        a->supplementary = 4;
    }
    if (ber_length(&r, &a->payload_length) < 0 || take(&r, a->payload_length, &a->payload) < 0)
        return -1;
    a->signature_field = 0;
    a->signature = -1;
    if (r.pos < r.end) {
        if (byte(&r, &value) < 0)
            return -1;
        if (value == SIGNATURE_LENGTH) {
            if (take(&r, SIGNATURE_LENGTH, &a->signature) < 0)
                return -1;
            a->signature_field = 2;
        }
        else if (value == 0) {
            a->signature_field = 1;
        }
        else {
            return -1;
        }
    }
    return r.pos == r.end ? 0 : -1;
}

/* A frame (frame._decode_general): sets *apdu and *mac_at (-1 for a bare DF frame). */
static int
parse_frame(const unsigned char *data, Py_ssize_t size, Apdu *apdu, Py_ssize_t *mac_at)
{
    Reader r = {data, 0, size};
    unsigned tag;
    Py_ssize_t content, at;

    if (byte(&r, &tag) < 0)
        return -1;
    if (tag == GENERAL_SIGNING) {
        *mac_at = -1;
        return parse_signing(data, 0, size, apdu);
    }
    if (tag != GENERAL_CIPHERING)
        return -1;
    for (int i = 0; i < 6; i++) /* transaction id, titles, date-time, other info, key info */
        if (expect(&r, 0) < 0)
            return -1;
    if (ber_length(&r, &content) < 0 || content != r.end - r.pos)
        return -1;
    if (content < SECURITY_HEADER_LENGTH + 1 + MAC_LENGTH)
        return -1;
    if (expect(&r, SECURITY_CONTROL) < 0 || take(&r, 4, &at) < 0 || load_be(data + at, 4) != 0)
        return -1;
    *mac_at = size - MAC_LENGTH;
    return parse_signing(data, r.pos, size - MAC_LENGTH, apdu);
}

/* ---- building the decoded objects ------------------------------------------------------- */

static PyObject *
slice(PyObject *data, Py_ssize_t at, Py_ssize_t n)
{
    if (at == 0 && n == PyBytes_GET_SIZE(data))
        return Py_NewRef(data);
    return PyBytes_FromStringAndSize(PyBytes_AS_STRING(data) + at, n);
}

/* A fresh instance of a slotted class, its slots all NULL, without running __init__. */
static PyObject *
instance(PyTypeObject *cls)
{
    return cls->tp_alloc(cls, 0);
}

/* Fill the empty slot at offset with value, stolen; -1 if value is NULL. */
static int
put(PyObject *obj, Py_ssize_t offset, PyObject *value)
{
    if (value == NULL)
        return -1;
    *(PyObject **)((char *)obj + offset) = value;
    return 0;
}

static PyObject *
new_signing(PyObject *frame, const Apdu *a)
{
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(frame);
    const Py_ssize_t *at = signing_slots;
    int n = a->supplementary;
    PyObject *f = instance(signing_type);
    if (f == NULL)
        return NULL;
    if (put(f, at[S_CRA], Py_NewRef(cras[a->cra])) < 0 ||
        put(f, at[S_COUNTER], PyLong_FromUnsignedLongLong(a->counter)) < 0 ||
        put(f, at[S_ORIGINATOR], eui(d + a->originator)) < 0 ||
        put(f, at[S_RECIPIENT], eui(d + a->recipient)) < 0 ||
        put(f, at[S_MESSAGE_CODE], PyLong_FromUnsignedLong(a->message_code)) < 0 ||
        put(f, at[S_PAYLOAD], slice(frame, a->payload, a->payload_length)) < 0 ||
        put(f, at[S_DATE_TIME],
            a->date_time < 0 ? Py_NewRef(Py_None) : slice(frame, a->date_time, DATE_TIME_LENGTH)) < 0 ||
        put(f, at[S_RP_ID], n < 1 ? Py_NewRef(Py_None) : eui(d + a->rp_id)) < 0 ||
        put(f, at[S_RP_COUNTER],
            n < 2 ? Py_NewRef(Py_None) : PyLong_FromUnsignedLongLong(load_be(d + a->rp_counter, 8))) < 0 ||
        put(f, at[S_ORIG_COUNTER],
            n < 3 ? Py_NewRef(Py_None) : PyLong_FromUnsignedLongLong(load_be(d + a->orig_counter, 8))) < 0 ||
        put(f, at[S_CERTIFICATE],
            n < 4 ? Py_NewRef(Py_None) : slice(frame, a->certificate, a->certificate_length)) < 0 ||
        put(f, at[S_SIGNATURE],
            a->signature_field != 2 ? Py_NewRef(Py_None) : slice(frame, a->signature, SIGNATURE_LENGTH)) < 0 ||
        put(f, at[S_HAS_SIGNATURE_FIELD], PyBool_FromLong(a->signature_field != 0)) < 0 ||
        put(f, at[S_RAW], slice(frame, a->start, a->end - a->start)) < 0) {
        Py_DECREF(f);
        return NULL;
    }
    return f;
}

static int
check_bound(void)
{
    if (message_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "rig.gbcs._wire.bind() was not called");
        return -1;
    }
    return 0;
}

/* The Message of a parsed frame: a new reference, or NULL with an exception set. */
static PyObject *
new_message(PyObject *frame, const Apdu *a, Py_ssize_t mac_at)
{
    PyObject *message = instance(message_type);
    if (message == NULL)
        return NULL;
    if (put(message, message_slots[M_SIGNING], new_signing(frame, a)) < 0 ||
        put(message, message_slots[M_MAC],
            mac_at < 0 ? Py_NewRef(Py_None) : slice(frame, mac_at, MAC_LENGTH)) < 0) {
        Py_DECREF(message);
        return NULL;
    }
    return message;
}

static PyObject *
w_decode(PyObject *module, PyObject *frame)
{
    Apdu a;
    Py_ssize_t mac_at;
    if (check_bound() < 0)
        return NULL;
    if (!PyBytes_CheckExact(frame) ||
        parse_frame((const unsigned char *)PyBytes_AS_STRING(frame), PyBytes_GET_SIZE(frame), &a,
                    &mac_at) < 0)
        return PyObject_CallOneArg(decode_fallback, frame);
    return new_message(frame, &a, mac_at);
}

/* ---- building frames -------------------------------------------------------------------- */

static Py_ssize_t
ber_size(Py_ssize_t n)
{
    return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1000000 ? 4 : 5;
}

static unsigned char *
put_ber(unsigned char *p, Py_ssize_t n)
{
    Py_ssize_t size = ber_size(n);
    if (size == 1) {
        *p++ = (unsigned char)n;
        return p;
    }
    *p++ = (unsigned char)(0x80 | (size - 1));
    for (Py_ssize_t i = size - 2; i >= 0; i--)
        *p++ = (unsigned char)(n >> (8 * i));
    return p;
}

static unsigned char *
put_bytes(unsigned char *p, const char *src, Py_ssize_t n)
{
    memcpy(p, src, n);
    return p + n;
}

static unsigned char *
put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        *p++ = (unsigned char)(v >> (8 * i));
    return p;
}

/* The KDF input, GCM IV and GMAC AAD of an APDU (frame._py_mac_inputs): new references, or
 * -1 with an exception set. */
static int
mac_inputs(PyObject *kdf_prefix, PyObject *apdu_obj, PyObject **kdf_input, PyObject **iv,
           PyObject **aad)
{
    const char *prefix = PyBytes_AS_STRING(kdf_prefix), *apdu = PyBytes_AS_STRING(apdu_obj);
    Py_ssize_t prefix_length = PyBytes_GET_SIZE(kdf_prefix);
    Py_ssize_t apdu_length = PyBytes_GET_SIZE(apdu_obj);
    if (apdu_length < APDU_HEAD_LENGTH) {
        PyErr_Format(PyExc_ValueError, "APDU of %zd bytes, too short for its KDF fields",
                     apdu_length);
        return -1;
    }
    *kdf_input = PyBytes_FromStringAndSize(NULL, prefix_length + 26);
    *iv = PyBytes_FromStringAndSize(NULL, 12);
    *aad = PyBytes_FromStringAndSize(NULL, AAD_PREFIX_LENGTH + apdu_length);
    if (*kdf_input == NULL || *iv == NULL || *aad == NULL) {
        Py_CLEAR(*kdf_input);
        Py_CLEAR(*iv);
        Py_CLEAR(*aad);
        return -1;
    }
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(*kdf_input);
    p = put_bytes(p, prefix, prefix_length);
    p = put_bytes(p, apdu + ORIGINATOR_AT, TITLE_LENGTH);
    p = put_bytes(p, apdu + TRANSACTION_ID_AT, 1 + TRANSACTION_ID_LENGTH);
    put_bytes(p, apdu + RECIPIENT_AT, TITLE_LENGTH);
    p = (unsigned char *)PyBytes_AS_STRING(*iv);
    memcpy(p, apdu + ORIGINATOR_AT, TITLE_LENGTH);
    memset(p + TITLE_LENGTH, 0, 4);
    p = (unsigned char *)PyBytes_AS_STRING(*aad);
    *p = SECURITY_CONTROL;
    memset(p + 1, 0, AAD_PREFIX_LENGTH - 1);
    memcpy(p + AAD_PREFIX_LENGTH, apdu, apdu_length);
    return 0;
}

/* The first n bytes of result (a new reference, released), which must be bytes of at least n. */
static PyObject *
head(PyObject *result, Py_ssize_t n, const char *what)
{
    if (result == NULL)
        return NULL;
    PyObject *out = NULL;
    if (PyBytes_Check(result) && PyBytes_GET_SIZE(result) >= n)
        out = PyBytes_FromStringAndSize(PyBytes_AS_STRING(result), n);
    else
        PyErr_Format(PyExc_TypeError, "%s gave %R, expected %zd bytes or more", what, result, n);
    Py_DECREF(result);
    return out;
}

/* frame.apdu_mac: the KDF input and AAD built here, then the same calls as crypto.kdf_mac:
 * key = sha256(kdf_input).digest()[:16]; AESGCM(key).encrypt(iv, b"", aad)[:12]. */
static PyObject *
apdu_mac(PyObject *kdf_prefix, PyObject *apdu)
{
    PyObject *kdf_input, *iv, *aad, *key, *mac = NULL;
    if (mac_inputs(kdf_prefix, apdu, &kdf_input, &iv, &aad) < 0)
        return NULL;
    PyObject *hash = PyObject_CallOneArg(kdf_hash, kdf_input);
    key = hash == NULL ? NULL : head(PyObject_CallMethodNoArgs(hash, s_digest), 16, "digest()");
    Py_XDECREF(hash);
    if (key != NULL) {
        PyObject *aead = PyObject_CallOneArg(gcm_class, key);
        if (aead != NULL) {
            PyObject *call[4] = {aead, iv, empty_bytes, aad};
            mac = head(PyObject_VectorcallMethod(s_encrypt, call, 4, NULL), MAC_LENGTH,
                       "encrypt()");
            Py_DECREF(aead);
        }
        Py_DECREF(key);
    }
    Py_DECREF(kdf_input);
    Py_DECREF(iv);
    Py_DECREF(aad);
    return mac;
}

static PyObject *
w_apdu_mac(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_bound() < 0)
        return NULL;
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "apdu_mac(kdf_prefix: bytes, apdu: bytes)");
        return NULL;
    }
    return apdu_mac(args[0], args[1]);
}

/* frame.check_apdu_mac: None if mac is apdu_mac(kdf_prefix, apdu) (compared in constant time);
 * anything else goes to the Python reference, which raises its VerifyError. */
static PyObject *
w_check_apdu_mac(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_bound() < 0)
        return NULL;
    if (nargs == 3 && PyBytes_Check(args[0]) && PyBytes_Check(args[1]) &&
        PyBytes_Check(args[2]) && PyBytes_GET_SIZE(args[2]) == MAC_LENGTH) {
        PyObject *expected = apdu_mac(args[0], args[1]);
        if (expected == NULL)
            return NULL;
        const unsigned char *a = (const unsigned char *)PyBytes_AS_STRING(expected);
        const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(args[2]);
        unsigned difference = 0;
        for (int i = 0; i < MAC_LENGTH; i++)
            difference |= a[i] ^ b[i];
        Py_DECREF(expected);
        if (difference == 0)
            Py_RETURN_NONE;
    }
    return PyObject_Vectorcall(check_fallback, args, nargs, NULL);
}

/* The lookup keys of the last open_mac (a pair's titles) and open_mac_typed (the memo key): a
 * frame's key is most often the last one's, whose object is then used again, its hash already
 * computed, instead of a new one. Only the key objects are reused: each lookup still goes to the
 * caller's dict, so an emptied memo misses as it must. Strong references, replaced on change. */
static PyObject *last_titles, *last_memo_key;

/* A bytes object equal to head[0:head_n] + tail[0:tail_n]: *last if it is, else a new one that
 * replaces *last. A new reference, or NULL with an exception set. */
static PyObject *
reused(PyObject **last, const char *head, Py_ssize_t head_n, const char *tail, Py_ssize_t tail_n)
{
    PyObject *l = *last;
    if (l != NULL && PyBytes_GET_SIZE(l) == head_n + tail_n &&
        memcmp(PyBytes_AS_STRING(l), head, head_n) == 0 &&
        (tail_n == 0 || memcmp(PyBytes_AS_STRING(l) + head_n, tail, tail_n) == 0))
        return Py_NewRef(l);
    PyObject *made = PyBytes_FromStringAndSize(NULL, head_n + tail_n);
    if (made == NULL)
        return NULL;
    memcpy(PyBytes_AS_STRING(made), head, head_n);
    if (tail_n > 0)
        memcpy(PyBytes_AS_STRING(made) + head_n, tail, tail_n);
    Py_XSETREF(*last, Py_NewRef(made));
    return made;
}

/* The memo key (message code, Cra member, payload without invoke-id bytes 2-4) of a payload of
 * n >= 5 bytes at p: the last one if it is equal (same code, Cra and masked bytes). */
static PyObject *
memo_key(PyObject *code, unsigned cra, const char *p, Py_ssize_t n)
{
    PyObject *k = last_memo_key;
    if (k != NULL && PyTuple_GET_ITEM(k, 1) == cras[cra] &&
        PyObject_RichCompareBool(PyTuple_GET_ITEM(k, 0), code, Py_EQ) == 1) {
        PyObject *masked = PyTuple_GET_ITEM(k, 2);
        if (PyBytes_GET_SIZE(masked) == n - 3 && memcmp(PyBytes_AS_STRING(masked), p, 2) == 0 &&
            memcmp(PyBytes_AS_STRING(masked) + 2, p + 5, n - 5) == 0)
            return Py_NewRef(k);
    }
    PyObject *masked = PyBytes_FromStringAndSize(NULL, n - 3);
    if (masked == NULL)
        return NULL;
    memcpy(PyBytes_AS_STRING(masked), p, 2);
    memcpy(PyBytes_AS_STRING(masked) + 2, p + 5, n - 5);
    PyObject *key = PyTuple_Pack(3, code, cras[cra], masked);
    Py_DECREF(masked);
    if (key != NULL)
        Py_XSETREF(last_memo_key, Py_NewRef(key));
    return key;
}

/* The common case of codec.RemotePartyCodec.open_response: a valid MAC'd response or alert
 * without a signature whose MAC verifies under prefixes[originator .. recipient titles] (the KDF
 * prefix of its pair of KA keys; a dict, whose __missing__ may compute it). Sets *message (a new
 * reference) and returns 1; returns 0 for anything else (bad input, a command, a signature to
 * verify, a lookup that raises, a MAC that fails), with no exception set, so that the caller's
 * Python path decides; -1 with an exception only if memory runs out. */
static int
open_mac(PyObject *frame, PyObject *prefixes, Apdu *a, PyObject **message)
{
    Py_ssize_t mac_at;
    if (!PyBytes_CheckExact(frame))
        return 0;
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(frame);
    if (parse_frame(d, PyBytes_GET_SIZE(frame), a, &mac_at) < 0 || mac_at < 0 || a->cra == 1 ||
        a->signature_field == 2 || a->end - a->start < APDU_HEAD_LENGTH)
        return 0;
    PyObject *titles = reused(&last_titles, (const char *)d + a->start + ORIGINATOR_AT,
                              APDU_HEAD_LENGTH - ORIGINATOR_AT, NULL, 0);
    if (titles == NULL)
        return -1;
    PyObject *prefix = PyObject_GetItem(prefixes, titles);
    Py_DECREF(titles);
    if (prefix == NULL || !PyBytes_Check(prefix)) {
        PyErr_Clear();
        Py_XDECREF(prefix);
        return 0;
    }
    PyObject *opened = new_message(frame, a, mac_at);
    if (opened == NULL) {
        Py_DECREF(prefix);
        return -1;
    }
    PyObject *signing = *(PyObject **)((char *)opened + message_slots[M_SIGNING]);
    PyObject *apdu = *(PyObject **)((char *)signing + signing_slots[S_RAW]);
    PyObject *expected = apdu_mac(prefix, apdu);
    Py_DECREF(prefix);
    if (expected == NULL) {
        Py_DECREF(opened);
        return -1;
    }
    const unsigned char *x = (const unsigned char *)PyBytes_AS_STRING(expected);
    unsigned difference = 0;
    for (int i = 0; i < MAC_LENGTH; i++)
        difference |= x[i] ^ d[mac_at + i];
    Py_DECREF(expected);
    if (difference != 0) {
        Py_DECREF(opened);
        return 0;
    }
    *message = opened;
    return 1;
}

static PyObject *
w_open_mac(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Apdu a;
    PyObject *message;
    if (check_bound() < 0)
        return NULL;
    if (nargs != 2 || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "open_mac(frame: bytes, prefixes: dict)");
        return NULL;
    }
    int opened = open_mac(args[0], args[1], &a, &message);
    if (opened < 0)
        return NULL;
    return opened ? message : Py_NewRef(Py_None);
}

/* codec.RemotePartyCodec.open_typed without a Python frame, bound per codec by
 * functools.partial: open_mac, then the typed payload from memo (usecases._DECODED) under the
 * key usecases.decode_payload uses, (message code, Cra member, the payload without invoke-id
 * bytes 2-4); on a miss, decode(message code, payload, Cra) (usecases.decode_payload, which
 * remembers it). (Message, typed object); where open_mac declines, fallback(frame), the Python
 * method, which checks everything and raises what it raises. */
static PyObject *
w_open_mac_typed(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Apdu a;
    PyObject *message, *typed = NULL;
    if (check_bound() < 0)
        return NULL;
    if (nargs != 5 || !PyDict_Check(args[0]) || !PyDict_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "open_mac_typed(prefixes: dict, memo: dict, fallback, decode, frame)");
        return NULL;
    }
    PyObject *frame = args[4];
    int opened = open_mac(frame, args[0], &a, &message);
    if (opened < 0)
        return NULL;
    if (opened == 0)
        return PyObject_CallOneArg(args[2], frame);
    PyObject *code = PyLong_FromUnsignedLong(a.message_code);
    if (code == NULL) {
        Py_DECREF(message);
        return NULL;
    }
    const char *p = PyBytes_AS_STRING(frame) + a.payload;
    if (a.payload_length >= 5) {
        PyObject *key = memo_key(code, a.cra, p, a.payload_length);
        if (key == NULL) {
            Py_DECREF(code);
            Py_DECREF(message);
            return NULL;
        }
        typed = PyDict_GetItemWithError(args[1], key);
        Py_DECREF(key);
        Py_XINCREF(typed);
        if (typed == NULL && PyErr_Occurred()) {
            Py_DECREF(code);
            Py_DECREF(message);
            return NULL;
        }
    }
    if (typed == NULL) {
        PyObject *signing = *(PyObject **)((char *)message + message_slots[M_SIGNING]);
        PyObject *call[3] = {code, *(PyObject **)((char *)signing + signing_slots[S_PAYLOAD]),
                             cras[a.cra]};
        typed = PyObject_Vectorcall(args[3], call, 3, NULL);
    }
    Py_DECREF(code);
    if (typed == NULL) {
        Py_DECREF(message);
        return NULL;
    }
    PyObject *pair = PyTuple_Pack(2, message, typed);
    Py_DECREF(message);
    Py_DECREF(typed);
    return pair;
}

/* MAC Header + APDU + MAC (frame._py_seal). */
static PyObject *
w_mac_frame(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "mac_frame(apdu: bytes, mac: bytes)");
        return NULL;
    }
    Py_ssize_t apdu_length = PyBytes_GET_SIZE(args[0]), mac_length = PyBytes_GET_SIZE(args[1]);
    Py_ssize_t content = SECURITY_HEADER_LENGTH + apdu_length + mac_length;
    if (content > 0xFFFFFFFF) {
        PyErr_Format(PyExc_ValueError, "length %zd too large", content);
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, 7 + ber_size(content) + content);
    if (out == NULL)
        return NULL;
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(out);
    *p++ = GENERAL_CIPHERING;
    memset(p, 0, 6);
    p = put_ber(p + 6, content);
    *p++ = SECURITY_CONTROL;
    memset(p, 0, 4);
    p = put_bytes(p + 4, PyBytes_AS_STRING(args[0]), apdu_length);
    put_bytes(p, PyBytes_AS_STRING(args[1]), mac_length);
    return out;
}

/* A new reference to an Eui64's .raw if it is 8 bytes, else NULL (no error set). */
static PyObject *
raw_title(PyObject *eui_obj)
{
    PyObject *value = PyObject_GetAttr(eui_obj, s_raw_attr);
    if (value == NULL) {
        PyErr_Clear();
        return NULL;
    }
    if (!PyBytes_CheckExact(value) || PyBytes_GET_SIZE(value) != TITLE_LENGTH)
        Py_CLEAR(value);
    return value;
}

/* An unsigned int argument no greater than max, or -1 (no error set). */
static int
unsigned_arg(PyObject *arg, uint64_t max, uint64_t *value)
{
    if (!PyLong_Check(arg))
        return -1;
    *value = PyLong_AsUnsignedLongLong(arg);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    return *value <= max ? 0 : -1;
}

/* frame.encode_apdu for in-range arguments of the usual types; anything else goes to the
 * Python reference, which encodes it or raises its ValueError or TypeError. */
static PyObject *
w_encode_apdu(PyObject *module, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    uint64_t cra, counter, code;
    PyObject *payload, *date_time = Py_None, *supplementary = NULL, *signature_field = NULL;
    if (check_bound() < 0)
        return NULL;
    if (nargs != 6)
        goto fallback;
    for (Py_ssize_t i = 0, n = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames); i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i), *value = args[nargs + i];
        if (name == s_date_time)
            date_time = value;
        else if (name == s_supplementary)
            supplementary = value;
        else if (name == s_signature_field)
            signature_field = value;
        else
            goto fallback; /* not interned, or unknown: the reference decides */
    }
    payload = args[5];
    if (unsigned_arg(args[0], 3, &cra) < 0 || cra < 1 ||
        unsigned_arg(args[1], UINT64_MAX, &counter) < 0 ||
        unsigned_arg(args[4], 0xFFFF, &code) < 0 || !PyBytes_CheckExact(payload) ||
        (supplementary != NULL && !PyBytes_CheckExact(supplementary)) ||
        (signature_field != NULL && !PyBytes_CheckExact(signature_field)) ||
        !(date_time == Py_None ||
          (PyBytes_CheckExact(date_time) && PyBytes_GET_SIZE(date_time) == DATE_TIME_LENGTH)))
        goto fallback;
    const char *supplementary_bytes = supplementary == NULL ? "" : PyBytes_AS_STRING(supplementary);
    Py_ssize_t supplementary_length = supplementary == NULL ? 0 : PyBytes_GET_SIZE(supplementary);
    const char *signature_bytes = signature_field == NULL ? "" : PyBytes_AS_STRING(signature_field);
    Py_ssize_t signature_length = signature_field == NULL ? 1 : PyBytes_GET_SIZE(signature_field);
    Py_ssize_t payload_length = PyBytes_GET_SIZE(payload);
    Py_ssize_t other = 2 + supplementary_length;
    if (payload_length > 0xFFFFFFFF || other > 0xFFFFFFFF)
        goto fallback;
    PyObject *originator = raw_title(args[2]);
    PyObject *recipient = originator == NULL ? NULL : raw_title(args[3]);
    if (recipient == NULL) {
        Py_XDECREF(originator);
        goto fallback;
    }
    Py_ssize_t dt = date_time == Py_None ? 0 : DATE_TIME_LENGTH;
    Py_ssize_t size = APDU_HEAD_LENGTH + 1 + dt + ber_size(other) + other +
                      ber_size(payload_length) + payload_length + signature_length;
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL)
        goto done;
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(out);
    *p++ = GENERAL_SIGNING;
    *p++ = TRANSACTION_ID_LENGTH;
    *p++ = (unsigned char)cra;
    p = put_be(p, counter, 8);
    *p++ = TITLE_LENGTH;
    p = put_bytes(p, PyBytes_AS_STRING(originator), TITLE_LENGTH);
    *p++ = TITLE_LENGTH;
    p = put_bytes(p, PyBytes_AS_STRING(recipient), TITLE_LENGTH);
    *p++ = (unsigned char)dt;
    if (dt)
        p = put_bytes(p, PyBytes_AS_STRING(date_time), DATE_TIME_LENGTH);
    p = put_ber(p, other);
    p = put_be(p, code, 2);
    p = put_bytes(p, supplementary_bytes, supplementary_length);
    p = put_ber(p, payload_length);
    p = put_bytes(p, PyBytes_AS_STRING(payload), payload_length);
    if (signature_field == NULL)
        *p = 0; /* the null signature, the reference's default */
    else
        put_bytes(p, signature_bytes, signature_length);
done:
    Py_DECREF(originator);
    Py_DECREF(recipient);
    return out;
fallback:
    return PyObject_Vectorcall(encode_fallback, args, nargsf, kwnames);
}

/* ---- module ----------------------------------------------------------------------------- */

/* The offsets of cls's slots called names[0..n): each must be an object slot (a member
 * descriptor of type T_OBJECT_EX, as a slotted dataclass has). */
static int
slot_offsets(PyObject *cls, const char *const *names, int n, Py_ssize_t *offsets)
{
    for (int i = 0; i < n; i++) {
        PyObject *descr = PyObject_GetAttrString(cls, names[i]);
        if (descr == NULL)
            return -1;
        int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                 ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
        if (ok)
            offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        Py_DECREF(descr);
        if (!ok) {
            PyErr_Format(PyExc_TypeError, "%R.%s is not a slot", cls, names[i]);
            return -1;
        }
    }
    return 0;
}

static PyObject *
w_bind(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"message", "signing", "cras", "eui_of", "decode", "encode_apdu",
                               "check_apdu_mac", "kdf_hash", "gcm_class", NULL};
    PyObject *message, *signing, *cra_members, *of, *decode, *encode, *check, *hash, *gcm;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$O!O!O!OOOOOO:bind", keywords, &PyType_Type,
                                     &message, &PyType_Type, &signing, &PyTuple_Type,
                                     &cra_members, &of, &decode, &encode, &check, &hash, &gcm))
        return NULL;
    if (PyTuple_GET_SIZE(cra_members) != 3) {
        PyErr_SetString(PyExc_TypeError, "cras: (COMMAND, RESPONSE, ALERT)");
        return NULL;
    }
    if (slot_offsets(message, message_names, MESSAGE_FIELDS, message_slots) < 0 ||
        slot_offsets(signing, signing_names, SIGNING_FIELDS, signing_slots) < 0)
        return NULL;
    Py_XSETREF(message_type, (PyTypeObject *)Py_NewRef(message));
    Py_XSETREF(signing_type, (PyTypeObject *)Py_NewRef(signing));
    for (int i = 0; i < 3; i++)
        Py_XSETREF(cras[i + 1], Py_NewRef(PyTuple_GET_ITEM(cra_members, i)));
    Py_XSETREF(eui_of, Py_NewRef(of));
    Py_XSETREF(decode_fallback, Py_NewRef(decode));
    Py_XSETREF(encode_fallback, Py_NewRef(encode));
    Py_XSETREF(check_fallback, Py_NewRef(check));
    Py_XSETREF(kdf_hash, Py_NewRef(hash));
    Py_XSETREF(gcm_class, Py_NewRef(gcm));
    for (int i = 0; i < EUI_CACHE_SIZE; i++)
        Py_CLEAR(eui_cache[i].eui);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bind", (PyCFunction)(void (*)(void))w_bind, METH_VARARGS | METH_KEYWORDS,
     "bind(*, message, signing, cras, eui_of, decode, encode_apdu, check_apdu_mac, kdf_hash, "
     "gcm_class): the slotted classes decode() makes, the Cra members, the Eui64 constructor, "
     "the Python functions that take what decode(), encode_apdu() and check_apdu_mac() "
     "decline, and the hash and AEAD class apdu_mac() calls; call it first."},
    {"decode", (PyCFunction)w_decode, METH_O,
     "decode(data: bytes) -> Message: parse a frame (structure only), as rig.gbcs.frame's "
     "Python decoder does; anything but a valid frame in exactly bytes goes to that decoder, "
     "which raises DecodeError for bad input."},
    {"apdu_mac", (PyCFunction)(void (*)(void))w_apdu_mac, METH_FASTCALL,
     "apdu_mac(kdf_prefix, apdu) -> bytes: the 12-byte MAC of a General-Signing APDU: the "
     "KDF input with the APDU's OtherInfo fields, then the bound hash and AEAD "
     "(reference/gbcs.md 1.4)."},
    {"check_apdu_mac", (PyCFunction)(void (*)(void))w_check_apdu_mac, METH_FASTCALL,
     "check_apdu_mac(kdf_prefix, apdu, mac) -> None: return if mac is apdu_mac(kdf_prefix, "
     "apdu); otherwise the Python reference raises VerifyError."},
    {"open_mac", (PyCFunction)(void (*)(void))w_open_mac, METH_FASTCALL,
     "open_mac(frame, prefixes) -> Message | None: decode a MAC'd response or alert without a "
     "signature and check its MAC under prefixes[its titles] in one call; None for anything "
     "else (no exception), for the Python path to decide."},
    {"open_mac_typed", (PyCFunction)(void (*)(void))w_open_mac_typed, METH_FASTCALL,
     "open_mac_typed(prefixes, memo, fallback, decode, frame) -> (Message, typed): open_mac, "
     "then the typed payload from memo by (message code, Cra, payload without invoke-id bytes "
     "2-4), else decode(code, payload, cra); fallback(frame) where open_mac declines."},
    {"mac_frame", (PyCFunction)(void (*)(void))w_mac_frame, METH_FASTCALL,
     "mac_frame(apdu, mac) -> bytes: MAC Header + APDU + MAC (reference/gbcs.md 1.2)."},
    {"encode_apdu", (PyCFunction)(void (*)(void))w_encode_apdu, METH_FASTCALL | METH_KEYWORDS,
     "encode_apdu(cra, counter, originator, recipient, message_code, payload, *, "
     "date_time=None, supplementary=b'', signature_field=b'\\x00') -> bytes: a General-Signing "
     "APDU from its fields, as rig.gbcs.frame's Python encoder makes it; arguments out of "
     "range or of other types go to that encoder, which raises ValueError."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "rig.gbcs._wire",
    "The GBCS codec's per-frame byte work in C (rig/gbcs/_wire.c); rig.gbcs.frame is the "
    "reference.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__wire(void)
{
    s_raw_attr = PyUnicode_InternFromString("raw");
    s_date_time = PyUnicode_InternFromString("date_time");
    s_supplementary = PyUnicode_InternFromString("supplementary");
    s_signature_field = PyUnicode_InternFromString("signature_field");
    s_digest = PyUnicode_InternFromString("digest");
    s_encrypt = PyUnicode_InternFromString("encrypt");
    empty_bytes = PyBytes_FromStringAndSize(NULL, 0);
    if (s_raw_attr == NULL || s_date_time == NULL || s_supplementary == NULL ||
        s_signature_field == NULL || s_digest == NULL || s_encrypt == NULL || empty_bytes == NULL)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
#ifdef WIRE_SOURCE_SHA256
    if (PyModule_AddStringConstant(module, "SOURCE_SHA256", WIRE_SOURCE_SHA256) < 0) {
        Py_DECREF(module);
        return NULL;
    }
#endif
    return module;
}
