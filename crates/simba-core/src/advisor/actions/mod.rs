//! One-click fixes: plan → preview → apply → verify → rollback.
