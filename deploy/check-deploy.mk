# Deployment checks, included from the Makefile (`include deploy/check-deploy.mk`)
# or run on their own: make -f deploy/check-deploy.mk check-deploy
# Also: make e2e-prod (needs the app, PostgreSQL, Redis; see scripts/e2e_prod_topology.sh)
.PHONY: check-deploy e2e-prod

check-deploy:
	bash scripts/check_deploy.sh

e2e-prod:
	bash scripts/e2e_prod_topology.sh
