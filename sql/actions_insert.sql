-- One new improvement action, with who recorded it and when.
INSERT INTO improvement_action (id, structure_code, title, indicators, start_on, end_on, owner, comment, created_by,
                                created_by_subject, created_at)
VALUES ($id, $structure_code, $title, $indicators::VARCHAR[], $start_on, $end_on, $owner, $comment, $created_by,
        $created_by_subject, $created_at)
