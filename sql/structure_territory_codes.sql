-- Which of these codes name a territory of the open data (a values file about services may not use them).
SELECT code FROM structure WHERE territorial AND list_contains($codes::VARCHAR[], code) ORDER BY code
