// Package safetensors implements the safetensors tensor file format of
// Hugging Face (https://github.com/huggingface/safetensors, "Format"): an
// 8-byte little-endian unsigned header length N, N bytes of UTF-8 JSON
// mapping each tensor name to {"dtype", "shape", "data_offsets": [begin,
// end]} plus an optional "__metadata__" object of strings, then the byte
// buffer holding every tensor's little-endian, row-major data, with offsets
// relative to the start of that buffer.
//
// Write lays files out as the reference implementation does: tensors sorted
// by descending dtype size, then by name, packed without gaps, the header
// padded with spaces to a multiple of 8 bytes so that every tensor is
// aligned. Read treats its input as hostile: it refuses a header longer than
// 100 MB or than the file, invalid UTF-8 or JSON, duplicate keys, unknown
// dtypes, offsets that overlap, leave holes or run past the buffer, and
// sizes that do not match dtype and shape, always with a *FormatError and
// never with a panic or an allocation larger than the input.
package safetensors
