-- Which of some structure codes exist in the register (a territory is none).
SELECT code FROM structure WHERE list_contains($codes::VARCHAR[], code) AND NOT territorial
