/* pcinfo: pclntab test helper (being written). */
int main(void)
{
	return 77;
}
