package core

import "time"

// AccountState is an account's place in its lifecycle:
//
//	pending_activation ─activate──────────────→ active
//	pending_activation ─activate_ussd─────────→ password_change_required
//	password_change_required ─change_password─→ active
//	active, password_change_required ─lock────→ locked
//	locked ─unlock (agent)────────────────────→ active
//	locked ─activate / activate_ussd──────────→ active / password_change_required (identity re-proved)
//	active ─reset_password (web, OTP)─────────→ active
//	active ─reset_password_ussd───────────────→ password_change_required
//
// Everything else is refused (see Transition).
type AccountState string

const (
	AccountPending                AccountState = "pending_activation"
	AccountActive                 AccountState = "active"
	AccountLocked                 AccountState = "locked"
	AccountPasswordChangeRequired AccountState = "password_change_required"
)

// AccountStates lists every state.
func AccountStates() []AccountState {
	return []AccountState{AccountPending, AccountActive, AccountLocked, AccountPasswordChangeRequired}
}

// AccountAction is an operation on an account.
type AccountAction string

const (
	ActActivate          AccountAction = "activate"            // web/API: OTP, then password, passcode, questions
	ActActivateUSSD      AccountAction = "activate_ussd"       // USSD: passcode, questions; password generated
	ActChangePassword    AccountAction = "change_password"     // logged-in citizen (first web log-in after USSD)
	ActResetPassword     AccountAction = "reset_password"      // forgot password over web: OTP, new password
	ActResetPasswordUSSD AccountAction = "reset_password_ussd" // forgot password over USSD: generated password by SMS
	ActLock              AccountAction = "lock"                // citizen reports loss or misuse, or an agent locks
	ActUnlock            AccountAction = "unlock"              // agent only
)

// AccountActions lists every action.
func AccountActions() []AccountAction {
	return []AccountAction{ActActivate, ActActivateUSSD, ActChangePassword, ActResetPassword, ActResetPasswordUSSD, ActLock, ActUnlock}
}

// MsgAlreadyActivated is the exact answer to an activation of an account
// that is already active (code ECONFLICT).
const MsgAlreadyActivated = "Tài khoản của bạn đã thực hiện kích hoạt"

// Hotline is the support number given in lock notices and refusals.
const Hotline = "1900.0368"

// Transition returns the state an action leads to from s, or the refusal:
// ECONFLICT with MsgAlreadyActivated for activating an activated account,
// ECONFLICT for actions that need another state, EFORBIDDEN for acting on a
// locked account (except unlocking and re-activating).
func (s AccountState) Transition(act AccountAction) (AccountState, error) {
	switch s {
	case AccountPending:
		switch act {
		case ActActivate:
			return AccountActive, nil
		case ActActivateUSSD:
			return AccountPasswordChangeRequired, nil
		case ActUnlock:
			return s, Errorf(ECONFLICT, "account is not locked")
		}
		return s, Errorf(ECONFLICT, "account is not activated yet")
	case AccountActive, AccountPasswordChangeRequired:
		// A generated password (USSD) changes nothing but what the next web
		// log-in must do: both states allow the same actions.
		switch act {
		case ActActivate, ActActivateUSSD:
			return s, Errorf(ECONFLICT, "%s", MsgAlreadyActivated)
		case ActChangePassword, ActResetPassword:
			return AccountActive, nil
		case ActResetPasswordUSSD:
			return AccountPasswordChangeRequired, nil
		case ActLock:
			return AccountLocked, nil
		case ActUnlock:
			return s, Errorf(ECONFLICT, "account is not locked")
		}
	case AccountLocked:
		switch act {
		case ActUnlock, ActActivate:
			return AccountActive, nil
		case ActActivateUSSD:
			return AccountPasswordChangeRequired, nil
		case ActLock:
			return s, Errorf(ECONFLICT, "account is already locked")
		}
		return s, Errorf(EFORBIDDEN, "account is locked; call the hotline %s", Hotline)
	}
	return s, Errorf(EINVALID, "unknown account state %q or action %q", s, act)
}

// SecurityAnswer is a chosen question and the hash of its normalised answer.
type SecurityAnswer struct {
	QuestionID int    `json:"q"`
	AnswerHash string `json:"h"`
}

// Account is a citizen's e-ID account as this gateway knows it. Hashes are
// argon2id strings (see Hasher); no secret is held in clear.
type Account struct {
	IDNumber      string           `json:"id_number"` // 12 digits; never logged in full
	Phone         string           `json:"phone"`     // normalised MSISDN; one account per phone
	ApplicationID string           `json:"application_id"`
	FullName      string           `json:"full_name"`
	DateOfBirth   string           `json:"date_of_birth"` // YYYY-MM-DD
	Sex           Sex              `json:"sex"`
	Level         int              `json:"level"`
	State         AccountState     `json:"state"`
	PasswordHash  string           `json:"password_hash,omitempty"`
	PasscodeHash  string           `json:"passcode_hash,omitempty"`
	Questions     []SecurityAnswer `json:"questions,omitempty"`
	CreatedAt     time.Time        `json:"created_at"`
	UpdatedAt     time.Time        `json:"updated_at"`
	ActivatedAt   time.Time        `json:"activated_at,omitzero"`
	LockedAt      time.Time        `json:"locked_at,omitzero"`
}

// apply moves a to the state act leads to, or returns the refusal.
func (a *Account) apply(act AccountAction, now time.Time) (from AccountState, err error) {
	from = a.State
	next, err := a.State.Transition(act)
	if err != nil {
		return from, err
	}
	a.State = next
	a.UpdatedAt = now
	switch act {
	case ActActivate, ActActivateUSSD:
		a.ActivatedAt = now
		a.LockedAt = time.Time{}
	case ActLock:
		a.LockedAt = now
	case ActUnlock:
		a.LockedAt = time.Time{}
	}
	return from, nil
}
