# Multi-stage build of the wavenet binary: a static Go binary in a minimal
# image, run as a non-root user, serving the synthesis API on port 8080.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/wavenet ./cmd/wavenet

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/wavenet /usr/local/bin/wavenet
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/wavenet"]
CMD ["serve", "--addr", ":8080"]
