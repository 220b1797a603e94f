package sqs

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// md5Hex is the lower-case hex MD5 of b (MD5OfMessageBody, MD5OfBody).
func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// attrMD5 computes MD5OfMessageAttributes as the SDKs check it (reference
// §2.6, aws-sdk-java-v2 MessageMD5ChecksumInterceptor): for each name in
// byte order, the length-prefixed name, the length-prefixed full DataType
// (custom suffix included), then 1 and the length-prefixed string value, or
// 2 and the length-prefixed decoded binary value. It is "" for no
// attributes: the field is then omitted, never the MD5 of nothing.
func attrMD5(attrs []messageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	sorted := attrs
	if !slices.IsSortedFunc(attrs, cmpAttr) {
		sorted = slices.Clone(attrs)
		slices.SortFunc(sorted, cmpAttr)
	}
	h := md5.New()
	var buf []byte
	for _, a := range sorted {
		buf = appendLen(buf[:0], a.Name)
		buf = appendLen(buf, a.DataType)
		if a.Binary != nil {
			buf = append(buf, 2)
			buf = binary.BigEndian.AppendUint32(buf, uint32(len(a.Binary)))
			buf = append(buf, a.Binary...)
		} else {
			buf = append(buf, 1)
			buf = appendLen(buf, a.String)
		}
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func cmpAttr(a, b messageAttribute) int {
	switch {
	case a.Name < b.Name:
		return -1
	case a.Name > b.Name:
		return 1
	}
	return 0
}

func appendLen(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
