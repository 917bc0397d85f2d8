package server

import (
	"net/http"

	"github.com/wxauth/wxauth/internal/login"
)

// phoneRequest is the body of POST /v1/miniprogram/phone.
type phoneRequest struct {
	Code          string `json:"code"`
	EncryptedData string `json:"encrypted_data"`
	IV            string `json:"iv"`
}

// phone is POST /v1/miniprogram/phone (docs/api.md "Mini program").
func (s *Server) phone(w http.ResponseWriter, r *http.Request) error {
	var req phoneRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c := claimsFrom(r)
	phone, err := s.cfg.Login.Phone(r.Context(), c.Subject, c.SessionID,
		login.PhoneRequest{Code: req.Code, EncryptedData: req.EncryptedData, IV: req.IV})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"phone": phone, "phone_bound": true})
	return nil
}

// userInfoRequest is the body of POST /v1/miniprogram/userinfo.
type userInfoRequest struct {
	EncryptedData string `json:"encrypted_data"`
	IV            string `json:"iv"`
	RawData       string `json:"raw_data"`
	Signature     string `json:"signature"`
}

// userInfo is POST /v1/miniprogram/userinfo: the user, with the profile
// the encrypted data carried.
func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) error {
	var req userInfoRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c := claimsFrom(r)
	u, err := s.cfg.Login.UserInfo(r.Context(), c.Subject, c.SessionID,
		login.UserInfoRequest{EncryptedData: req.EncryptedData, IV: req.IV, RawData: req.RawData, Signature: req.Signature})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userBrief(u))
	return nil
}
