"""The API's documentation pages, served without the internet: Swagger UI (`/docs`) and ReDoc
(`/redoc`) from the assets the `fastapi-offline` package ships, and the AsyncAPI event contract
(`/asyncapi`, `/asyncapi.yaml`) rendered on the server."""
