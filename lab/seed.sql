-- A little data for the runbooks' queries (active users, quiz statistics, pending mints, marketplace).
-- Applied by lab/provision.yml only when the users table is empty.
INSERT INTO users (id, username, created_at)
SELECT 100000 + g, 'user' || g, now() - (g || ' hours')::interval FROM generate_series(1, 200) AS g;

INSERT INTO quizzes (title) SELECT 'Quiz ' || g FROM generate_series(1, 5) AS g;

INSERT INTO quiz_results (user_id, quiz_id, score, completed_at, nft_minted)
SELECT 100000 + 1 + (g % 200), 1 + (g % 5), (g * 7) % 101, now() - ((g % 240) || ' hours')::interval, g % 4 = 0
FROM generate_series(1, 1000) AS g;

-- Completed mints, recent pending ones, and pending ones stuck for hours (the runbook's clean-up target).
INSERT INTO mint_transactions (user_id, quiz_result_id, status, created_at, updated_at)
SELECT 100001 + g, g, CASE WHEN g <= 10 THEN 'completed' WHEN g <= 14 THEN 'pending' ELSE 'pending' END,
       CASE WHEN g <= 14 THEN now() - (g || ' minutes')::interval ELSE now() - (g || ' hours')::interval END,
       now()
FROM generate_series(1, 18) AS g;

INSERT INTO stores (owner_user_id, name, address) VALUES (100001, 'Corner Bakery', '1 Main St'),
                                                         (100002, 'Green Grocer', '2 Side St');
INSERT INTO offers (store_id, title, price_cents, quantity, status)
VALUES (1, 'Surprise bag', 399, 5, 'active'), (2, 'Veg box', 499, 0, 'sold_out');
INSERT INTO orders (offer_id, user_id, quantity, status) VALUES (1, 100003, 1, 'paid'), (1, 100004, 1, 'pending');
INSERT INTO payments (order_id, stripe_payment_intent_id, amount_cents, status)
VALUES (1, 'pi_lab_0001', 399, 'succeeded');
