package main

func packedFile(a *asm) {}
