"""Operations pages: the e-mail outbox with its status."""
