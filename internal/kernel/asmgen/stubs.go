package main

func matvecFile(a *asm) {}
func packedFile(a *asm) {}
func q8File(a *asm)     {}
