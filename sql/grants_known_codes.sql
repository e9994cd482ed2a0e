-- Which of some structure codes exist in the register.
SELECT code FROM structure WHERE list_contains($codes::VARCHAR[], code)
