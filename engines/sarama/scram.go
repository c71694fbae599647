package main

// SCRAM-SHA-256/512 (RFC 5802, RFC 7677) for sarama's Net.SASL.SCRAMClientGeneratorFunc: sarama
// leaves the client to its users (its examples take github.com/xdg-go/scram); this one uses only
// the standard library.

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
)

func scramSHA256() sarama.SCRAMClient { return &scram{h: sha256.New} }
func scramSHA512() sarama.SCRAMClient { return &scram{h: sha512.New} }

type scram struct {
	h                 func() hash.Hash
	user, pass, authz string
	nonce, firstBare  string
	serverSignature   []byte
	step              int
	done              bool
}

func (s *scram) Begin(user, pass, authz string) error {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	s.user, s.pass, s.authz = user, pass, authz
	s.nonce = base64.RawStdEncoding.EncodeToString(b)
	return nil
}

func (s *scram) Done() bool { return s.done }

func (s *scram) Step(challenge string) (string, error) {
	s.step++
	switch s.step {
	case 1:
		s.firstBare = "n=" + escape(s.user) + ",r=" + s.nonce
		gs2 := "n,"
		if s.authz != "" {
			gs2 += "a=" + escape(s.authz)
		}
		return gs2 + "," + s.firstBare, nil
	case 2:
		return s.final(challenge)
	case 3:
		s.done = true
		attrs := parse(challenge)
		if e, ok := attrs["e"]; ok {
			return "", fmt.Errorf("SCRAM: the server refused: %s", e)
		}
		v, err := base64.StdEncoding.DecodeString(attrs["v"])
		if err != nil || !hmac.Equal(v, s.serverSignature) {
			return "", errors.New("SCRAM: the server's signature does not verify")
		}
		return "", nil
	}
	return "", errors.New("SCRAM: unexpected step")
}

// final answers the server-first message with the client proof.
func (s *scram) final(serverFirst string) (string, error) {
	attrs := parse(serverFirst)
	nonce, salt64, iter64 := attrs["r"], attrs["s"], attrs["i"]
	if !strings.HasPrefix(nonce, s.nonce) || len(nonce) == len(s.nonce) {
		return "", errors.New("SCRAM: the server's nonce does not extend ours")
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil {
		return "", fmt.Errorf("SCRAM: salt: %w", err)
	}
	iter, err := strconv.Atoi(iter64)
	if err != nil || iter < 1 {
		return "", fmt.Errorf("SCRAM: iteration count %q", iter64)
	}
	salted, err := pbkdf2.Key(s.h, s.pass, salt, iter, s.h().Size())
	if err != nil {
		return "", err
	}
	clientKey := s.mac(salted, "Client Key")
	stored := s.h()
	stored.Write(clientKey)
	withoutProof := "c=biws,r=" + nonce
	if s.authz != "" {
		withoutProof = "c=" + base64.StdEncoding.EncodeToString([]byte("n,a="+escape(s.authz)+",")) + ",r=" + nonce
	}
	auth := s.firstBare + "," + serverFirst + "," + withoutProof
	signature := s.mac(stored.Sum(nil), auth)
	proof := make([]byte, len(clientKey))
	for i := range clientKey {
		proof[i] = clientKey[i] ^ signature[i]
	}
	s.serverSignature = s.mac(s.mac(salted, "Server Key"), auth)
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

func (s *scram) mac(key []byte, msg string) []byte {
	m := hmac.New(s.h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func escape(name string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(name)
}

func parse(msg string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(msg, ",") {
		if k, v, ok := strings.Cut(part, "="); ok {
			out[k] = v
		}
	}
	return out
}
