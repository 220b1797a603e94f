package auth

import (
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func TestSaltedHashVectors(t *testing.T) {
	tests := []struct {
		name     string
		h        Hashing
		salt     string // hex
		password string
		want     string
	}{
		// docs/passwords.md, "Computing Password Hashes": salt 908DC60A,
		// password test12, SHA-256.
		{"rabbitmq docs sha256", SHA256, "908DC60A", "test12", "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR"},
		// The older access-control guide's MD5 example (salt CAD5089B,
		// password simon); recomputed with Python's hashlib.
		{"rabbitmq docs md5", MD5, "CAD5089B", "simon", "ytUIm8s3AnKsXQjptplKFytfVxI="},
		// Computed with Python's hashlib.sha512 over the same salt.
		{"sha512", SHA512, "908DC60A", "test12",
			"kI3GChuNuIYf8lRbCCxZjgjKwsY19ns6+uFO0zcXRBGA/XGJPYD8OWMy7EB8TaOmAzjP2azv84GbINYwX2cDWb4DHnc="},
		{"empty hashing is sha256", "", "908DC60A", "test12", "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR"},
		// The password is hashed as UTF-8 bytes; computed with Python.
		{"utf-8 password", SHA256, "00000000", "pässwörd", "AAAAACINqH41lcTx0J9GvrtSLdzfhEqLw7MLa5cKP7SfEsnH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := hex.DecodeString(tt.salt)
			if err != nil {
				t.Fatal(err)
			}
			var salt [saltLen]byte
			copy(salt[:], raw)
			got := base64.StdEncoding.EncodeToString(tt.h.salted(salt, tt.password))
			if got != tt.want {
				t.Fatalf("hash = %s, want %s", got, tt.want)
			}
			if !tt.h.Check(got, tt.password) {
				t.Fatalf("Check(%s, %q) = false", got, tt.password)
			}
			if tt.h.Check(got, tt.password+"x") {
				t.Fatal("Check accepted a wrong password")
			}
		})
	}
}

// Hashes printed by `rabbitmqctl hash_password foobarbaz` and the HTTP API in
// docs/passwords.md, each with its own random salt.
func TestCheckPasswordRabbitMQOutput(t *testing.T) {
	for _, h := range []string{
		"27cx5+wEi8R8uwTeTr3hk5azuV3yYxxAtwPPhCyrbdsxVhqq",
		"TBybOvomyVw6BqBU/fHCEpVhDO7fLdQ4kxZDUpt6hagCxV8I",
	} {
		if !CheckPassword(h, "foobarbaz") {
			t.Errorf("CheckPassword(%s, foobarbaz) = false", h)
		}
		if CheckPassword(h, "foobarba") {
			t.Errorf("CheckPassword(%s, foobarba) = true", h)
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	good := HashPassword("secret")
	tests := []struct {
		name     string
		h        Hashing
		hash     string
		password string
	}{
		{"blank password", SHA256, SHA256.Hash(""), ""},
		{"cleared hash", SHA256, "", "secret"},
		{"hash of salt only", SHA256, base64.StdEncoding.EncodeToString([]byte{1, 2, 3, 4}), "secret"},
		{"short hash", SHA256, base64.StdEncoding.EncodeToString([]byte{1, 2}), "secret"},
		{"not base64", SHA256, "!!!!", "secret"},
		{"truncated", SHA256, good[:len(good)-4], "secret"},
		{"wrong algorithm", SHA512, good, "secret"},
		{"unknown algorithm", "rabbit_password_hashing_bcrypt", good, "secret"},
		{"wrong password", SHA256, good, "Secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.h.Check(tt.hash, tt.password) {
				t.Fatal("Check = true, want false")
			}
		})
	}
	if !CheckPassword(good, "secret") {
		t.Fatal("CheckPassword(good) = false")
	}
}

func TestHashPasswordFormat(t *testing.T) {
	a, b := HashPassword("p"), HashPassword("p")
	if a == b {
		t.Fatal("two hashes share a salt")
	}
	for h, size := range map[Hashing]int{SHA256: 32, SHA512: 64, MD5: 16} {
		raw, err := base64.StdEncoding.DecodeString(h.Hash("p"))
		if err != nil || len(raw) != saltLen+size {
			t.Errorf("%s: %d bytes, err %v; want %d", h, len(raw), err, saltLen+size)
		}
	}
}

func TestHashingValid(t *testing.T) {
	for h, want := range map[Hashing]bool{"": true, SHA256: true, SHA512: true, MD5: true, "sha256": false} {
		if got := h.Valid(); got != want {
			t.Errorf("%q.Valid() = %v", h, got)
		}
	}
}
