-- At a person's sign-in: the grants made to their e-mail before it are bound to their provider subject.
UPDATE access_grant SET subject = $subject
WHERE subject IS NULL AND email = $email AND revoked_at IS NULL
