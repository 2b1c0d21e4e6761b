"""model-promotion-bot: gate, render, propose, watch and roll back model promotions."""
